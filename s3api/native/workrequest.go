package native

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/http"
	"strings"

	"github.com/cairn-store/cairn/meta/policy"
	"github.com/cairn-store/cairn/proto/cairnpb"
)

// Work requests: GET /workRequests/{id}, its /errors and /logs, GET
// /workRequests?compartmentId= and DELETE /workRequests/{id} (cancel).
// They are meta's records (meta/fsm/workrequest.go), so every gateway
// shows the same ones, after a restart too. A work request belongs to the
// namespace of the caller who made it; seeing one needs OBJECT_INSPECT on
// its source bucket, as listing that bucket does, and anything else
// answers NotAuthorizedOrNotFound, as for a work request that does not
// exist.

// workRequestNotFound is the one message of a work request the caller
// may not see, or that does not exist.
const workRequestNotFound = "The work request does not exist or you are not authorized to access it"

// WorkRequestIndex is how the native front end keeps work requests in
// meta. An ID that names no work request of the namespace is
// rpcerr.ErrWorkRequestNotFound.
type WorkRequestIndex interface {
	// RecordWorkRequest records a finished work request; recording the
	// same one again changes nothing.
	RecordWorkRequest(ctx context.Context, w *cairnpb.WorkRequest) error
	GetWorkRequest(ctx context.Context, ns, id string) (*cairnpb.WorkRequest, error)
	// ListWorkRequests lists a namespace's work requests, newest first,
	// of one compartment (all when compartment is empty).
	ListWorkRequests(ctx context.Context, ns, compartment string) ([]*cairnpb.WorkRequest, error)
}

// newWorkRequestID draws a work request's OCID.
func newWorkRequestID(region string) string {
	var b [30]byte
	_, _ = rand.Read(b[:])
	return "ocid1.objectstorageworkrequest.oc1." + strings.ToLower(region) + ".." +
		strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// workRequestJSON is OCI's WorkRequest (and WorkRequestSummary).
type workRequestJSON struct {
	OperationType   string                    `json:"operationType"`
	Status          string                    `json:"status"`
	ID              string                    `json:"id"`
	CompartmentID   string                    `json:"compartmentId"`
	Resources       []workRequestResourceJSON `json:"resources"`
	PercentComplete float32                   `json:"percentComplete"`
	TimeAccepted    string                    `json:"timeAccepted"`
	TimeStarted     string                    `json:"timeStarted,omitempty"`
	TimeFinished    string                    `json:"timeFinished,omitempty"`
}

// workRequestResourceJSON is OCI's WorkRequestResource.
type workRequestResourceJSON struct {
	ActionType string            `json:"actionType"`
	EntityType string            `json:"entityType"`
	EntityURI  string            `json:"entityUri"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// workRequestErrorJSON is OCI's WorkRequestError.
type workRequestErrorJSON struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
}

// workRequestLogJSON is OCI's WorkRequestLogEntry.
type workRequestLogJSON struct {
	Message   string `json:"message"`
	Timestamp string `json:"timestamp"`
}

// workRequestOf is w as OCI's JSON; compartmentID is the OCID of its
// compartment (Server.compartmentID).
func workRequestOf(compartmentID string, w *cairnpb.WorkRequest) workRequestJSON {
	out := workRequestJSON{
		OperationType: w.GetOperationType(), Status: w.GetStatus(), ID: w.GetId(),
		CompartmentID: compartmentID, PercentComplete: w.GetPercentComplete(),
		TimeAccepted: jsonTime(w.GetAcceptedUnixNano()), Resources: []workRequestResourceJSON{},
	}
	if t := w.GetStartedUnixNano(); t != 0 {
		out.TimeStarted = jsonTime(t)
	}
	if t := w.GetFinishedUnixNano(); t != 0 {
		out.TimeFinished = jsonTime(t)
	}
	for _, r := range w.GetResources() {
		out.Resources = append(out.Resources, workRequestResourceJSON{
			ActionType: r.GetActionType(), EntityType: r.GetEntityType(), EntityURI: r.GetEntityUri(), Metadata: r.GetMetadata(),
		})
	}
	return out
}

// mayInspect reports whether the caller may see w: OBJECT_INSPECT on its
// source bucket.
func (s *Server) mayInspect(ctx context.Context, req *request, w *cairnpb.WorkRequest) (bool, error) {
	scoped := *req
	scoped.bucket = w.GetBucket()
	return req.who.authz.Allowed(policy.ObjectInspect, s.target(ctx, &scoped))
}

// workRequest returns the request's work request when the caller may see
// it, and NotAuthorizedOrNotFound otherwise.
func (s *Server) workRequest(ctx context.Context, req *request) (*cairnpb.WorkRequest, error) {
	wr, err := s.index.GetWorkRequest(ctx, req.ns, req.workRequestID)
	if err != nil {
		return nil, err // a missing one is NotAuthorizedOrNotFound (domainErrors)
	}
	ok, err := s.mayInspect(ctx, req, wr)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &Error{Code: codeNotAuthorized, Message: workRequestNotFound,
			Err: fmt.Errorf("native: work request %s: %w", wr.GetId(), errDenied)}
	}
	return wr, nil
}

func (s *Server) getWorkRequest(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	wr, err := s.workRequest(ctx, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, workRequestOf(s.compartmentID(ctx, req, wr.GetCompartment()), wr))
}

func (s *Server) listWorkRequestErrors(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	wr, err := s.workRequest(ctx, req)
	if err != nil {
		return err
	}
	out := []workRequestErrorJSON{}
	for _, e := range wr.GetErrors() {
		out = append(out, workRequestErrorJSON{Code: e.GetCode(), Message: e.GetMessage(), Timestamp: jsonTime(e.GetUnixNano())})
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listWorkRequestLogs(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	wr, err := s.workRequest(ctx, req)
	if err != nil {
		return err
	}
	out := []workRequestLogJSON{}
	for _, l := range wr.GetLogs() {
		out = append(out, workRequestLogJSON{Message: l.GetMessage(), Timestamp: jsonTime(l.GetUnixNano())})
	}
	return writeJSON(w, http.StatusOK, out)
}

// cancelWorkRequest: every work request is recorded finished, so there is
// never one to cancel; OCI answers a finished one's cancel with a
// conflict of state.
func (s *Server) cancelWorkRequest(ctx context.Context, _ http.ResponseWriter, _ *http.Request, req *request) error {
	wr, err := s.workRequest(ctx, req)
	if err != nil {
		return err
	}
	return refuse(codeIncorrectState, "The work request is %s and can no longer be canceled", wr.GetStatus())
}

// listWorkRequests lists a compartment's work requests the caller may
// see, newest first; limit and page (opc-next-page) as other lists.
func (s *Server) listWorkRequests(ctx context.Context, w http.ResponseWriter, _ *http.Request, req *request) error {
	id := req.query.Get("compartmentId")
	if id == "" {
		return refuse(codeMissingParameter, "The compartmentId parameter is required")
	}
	limit, err := limitOf(req.query.Get("limit"))
	if err != nil {
		return err
	}
	comp, err := s.compartmentOf(ctx, req, id)
	if err != nil {
		return err
	}
	all, err := s.index.ListWorkRequests(ctx, req.ns, comp)
	if err != nil {
		return err
	}
	page := req.query.Get("page")
	started := page == ""
	out := []workRequestJSON{}
	for _, wr := range all {
		if !started {
			started = wr.GetId() == page
			continue // the page starts after the ID it names
		}
		ok, err := s.mayInspect(ctx, req, wr)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if len(out) == limit {
			w.Header().Set("opc-next-page", out[len(out)-1].ID)
			break
		}
		out = append(out, workRequestOf(s.compartmentID(ctx, req, wr.GetCompartment()), wr))
	}
	return writeJSON(w, http.StatusOK, out)
}
