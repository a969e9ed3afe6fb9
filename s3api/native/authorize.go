package native

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/rpcerr"
)

// The native API's permissions are checked by the same policy engine as
// S3's (meta/policy.Authorizer), against the same statements, groups and
// compartment tree, with the permissions OCI documents per operation.

// errDenied: the principal lacks a permission.
var errDenied = errors.New("not authorized")

// denied is the answer to a request the caller's policies do not allow:
// OCI says not-authorized-or-not-found, so as not to tell the two apart.
func denied(req *request, p string) error {
	on := fmt.Sprintf("bucket %q", req.bucket)
	if req.bucket == "" {
		on = "the namespace"
	}
	return &Error{Code: codeNotAuthorized, Message: "Authorization failed or requested resource not found",
		Err: fmt.Errorf("native: user %q of namespace %q lacks %s on %s: %w", req.who.user, req.who.ns, p, on, errDenied)}
}

// target is the request's bucket as the policy engine sees it: its
// compartment is looked up when a compartment-scoped statement needs it.
// A request that names no bucket acts on the namespace itself.
func (s *Server) target(ctx context.Context, req *request) policy.Target {
	if req.bucket == "" {
		return policy.NamespaceTarget()
	}
	return policy.Target{Bucket: req.bucket, CompartmentOf: func() (string, error) {
		b, err := s.index.GetBucket(ctx, req.ns, req.bucket)
		switch {
		case errors.Is(err, rpcerr.ErrBucketNotFound):
			return req.who.s3Compartment, nil // judged where it would be made
		case err != nil:
			return "", fmt.Errorf("native: authorize: find bucket %q: %w", req.bucket, err)
		}
		return b.GetCompartment(), nil
	}}
}

// authorize checks what row says the caller needs: each of its perms on
// the request's bucket, and the right to write req.object when the
// operation writes one.
func (s *Server) authorize(ctx context.Context, req *request, row opRow) error {
	for _, perm := range row.perms {
		if err := s.require(ctx, req, perm); err != nil {
			return err
		}
	}
	if row.write {
		return s.requireWrite(ctx, req)
	}
	return nil
}

// require checks perm on the request's bucket.
func (s *Server) require(ctx context.Context, req *request, perm policy.Permission) error {
	ok, err := req.who.authz.Allowed(perm, s.target(ctx, req))
	if err != nil {
		return err
	}
	if !ok {
		return denied(req, perm.String())
	}
	return nil
}

// requireAny checks that the caller holds at least one of perms on the
// request's bucket.
func (s *Server) requireAny(ctx context.Context, req *request, perms ...policy.Permission) error {
	names := make([]string, 0, len(perms))
	for _, perm := range perms {
		ok, err := req.who.authz.Allowed(perm, s.target(ctx, req))
		if err != nil || ok {
			return err
		}
		names = append(names, perm.String())
	}
	return denied(req, strings.Join(names, " or "))
}

// requireWrite checks writing the request's object: OBJECT_CREATE for a
// new name, OBJECT_OVERWRITE for an existing one, as for S3.
func (s *Server) requireWrite(ctx context.Context, req *request) error {
	ok, err := req.who.authz.AllowedWrite(s.target(ctx, req), func() (bool, error) {
		_, err := s.index.GetObject(ctx, req.ns, req.bucket, req.object)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, rpcerr.ErrObjectNotFound), errors.Is(err, rpcerr.ErrBucketNotFound):
			return false, nil
		default:
			return false, fmt.Errorf("native: authorize: does %s/%s exist: %w", req.bucket, req.object, err)
		}
	})
	if err != nil {
		return err
	}
	if !ok {
		return denied(req, "OBJECT_CREATE or OBJECT_OVERWRITE")
	}
	return nil
}

// Compartments. The native API names a compartment by its OCID
// (compartmentId), as OCI's clients do: the tenancy's OCID is the root
// compartment, and every other compartment has its own (meta/fsm/ocid.go).
// A compartment's name is still accepted where an OCID is, as it was
// before compartments had OCIDs. Buckets and meta keep names; these two
// functions are the one place that translates.

// compartmentOf resolves a compartmentId to the name of a compartment of
// the caller's namespace: its OCID or its name, or the tenancy's OCID (or
// "root") for the root. One that names none is ErrCompartmentNotFound,
// after one fresh look-up of the caller, whose cached view may predate
// the compartment.
func (s *Server) compartmentOf(ctx context.Context, req *request, id string) (string, error) {
	if id == req.who.tenancyOCID || id == policy.RootCompartment {
		return policy.RootCompartment, nil
	}
	for {
		for _, c := range req.who.compartments {
			if c.GetOcid() == id || c.GetName() == id {
				return c.GetName(), nil
			}
		}
		if !s.refresh(ctx, req) {
			return "", fmt.Errorf("native: compartment %q of namespace %q: %w", id, req.ns, rpcerr.ErrCompartmentNotFound)
		}
	}
}

// compartmentID is the OCID of compartment c (a name; "" is the root) of
// the caller's namespace, looked up as compartmentOf looks up; c itself
// if even a fresh look-up does not know it.
func (s *Server) compartmentID(ctx context.Context, req *request, c string) string {
	if c == "" || c == policy.RootCompartment {
		return req.who.tenancyOCID
	}
	for {
		for _, comp := range req.who.compartments {
			if comp.GetName() == c {
				return comp.GetOcid()
			}
		}
		if !s.refresh(ctx, req) {
			return c
		}
	}
}

// refresh looks the caller up again, bypassing the key cache, once per
// request; false when it has been done (or cannot be: a PAR's creator has
// no key).
func (s *Server) refresh(ctx context.Context, req *request) bool {
	if req.refreshed || req.who.keyID == "" {
		return false
	}
	req.refreshed = true
	s.keys.forget(req.who.keyID)
	who, err := s.keys.lookup(ctx, req.who.keyID)
	if err != nil || who.ns != req.who.ns {
		return false
	}
	req.who = who
	return true
}
