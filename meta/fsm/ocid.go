package fsm

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"strings"

	"github.com/cairn-store/cairn/proto/cairnpb"
)

// OCIDs name every identity in OCI's format, ocid1.<kind>.oc1..<unique>:
//
//   - tenancy (a namespace) and user: drawn by the proposer and indexed
//     under t/ocid/ (apikey.go), since a signature's keyId names them
//     across namespaces. Records from before OCIDs get theirs with their
//     first API key.
//   - compartment and group: drawn by the proposer and kept in the record.
//     They are resolved within their namespace, so they are not indexed.
//     A record from before OCIDs has none stored; it reads with the OCID
//     derived from its namespace and name (derivedOCID), the same on every
//     node and at every read, and a later write of the record stores that
//     same value. So an old compartment's OCID never changes.
//   - the root compartment has no record: its OCID is its namespace's
//     tenancy OCID, as in OCI.
//
// Apply never draws: a drawn OCID arrives in the command, and Apply only
// checks its shape and that it is not taken.

// OCID kinds Cairn assigns.
const (
	OCIDTenancy     = "tenancy"
	OCIDUser        = "user"
	OCIDCompartment = "compartment"
	OCIDGroup       = "group"
)

// ocidUniqueBytes is the randomness in an OCID's unique part, written as
// lowercase base32 (48 characters), the alphabet of OCI's own.
const ocidUniqueBytes = 30

func ocidOf(kind string, unique []byte) string {
	u := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(unique))
	return "ocid1." + kind + ".oc1.." + u
}

// NewOCID draws an OCID of kind in OCI's format.
func NewOCID(kind string) (string, error) {
	b := make([]byte, ocidUniqueBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("meta: draw OCID: %w", err)
	}
	return ocidOf(kind, b), nil
}

// derivedOCID is the OCID of a compartment or group record from before
// OCIDs: a hash of its kind, namespace and name, so every reader derives
// the same one.
func derivedOCID(kind, ns, name string) string {
	sum := sha256.Sum256([]byte("cairn OCID\x00" + kind + "\x00" + ns + "\x00" + name))
	return ocidOf(kind, sum[:ocidUniqueBytes])
}

// validOCID accepts OCI's shape, ocid1.<kind>.oc1..<unique>, for the
// kinds Cairn assigns.
func validOCID(kind, ocid string) bool {
	prefix := "ocid1." + kind + ".oc1.."
	rest, ok := strings.CutPrefix(ocid, prefix)
	if !ok || rest == "" || len(ocid) > 255 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// withCompartmentOCID gives a compartment record read from the store its
// derived OCID when it has none stored.
func withCompartmentOCID(c *cairnpb.Compartment) *cairnpb.Compartment {
	if c.GetOcid() == "" {
		c.Ocid = derivedOCID(OCIDCompartment, c.GetNamespace(), c.GetName())
	}
	return c
}

// withGroupOCID is withCompartmentOCID for groups.
func withGroupOCID(g *cairnpb.Group) *cairnpb.Group {
	if g.GetOcid() == "" {
		g.Ocid = derivedOCID(OCIDGroup, g.GetNamespace(), g.GetName())
	}
	return g
}

// checkNewOCID accepts the OCID a proposer drew for a new compartment or
// group: empty (a proposer from before OCIDs; the record then reads with
// its derived OCID), or OCI's shape of kind and none of taken, the OCIDs
// of the namespace's records of that kind.
func checkNewOCID(kind, ocid string, taken []string) error {
	if ocid == "" {
		return nil
	}
	if !validOCID(kind, ocid) {
		return Invalid("%q is not a %s OCID", ocid, kind)
	}
	for _, t := range taken {
		if t == ocid {
			return Invalid("%s OCID %q is taken", kind, ocid) // random: a clash is a bug
		}
	}
	return nil
}
