// Package s3err owns the S3 error vocabulary of the gateway: every error
// code Cairn can send, with the HTTP status and message AWS uses for it, and
// the one function that writes an error response. Deeper code never builds
// S3 errors; the s3api edge translates domain errors into these codes in a
// single table.
package s3err
