package ops

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEndpoints(t *testing.T) {
	var notReady error
	srv := httptest.NewServer(Handler(func(context.Context) error { return notReady }))
	defer srv.Close()
	get := func(path string) int {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/healthz") != 200 || get("/readyz") != 200 || get("/debug/pprof/") != 200 {
		t.Fatal("endpoints should answer 200")
	}
	notReady = errors.New("no leader")
	if get("/readyz") != http.StatusServiceUnavailable || get("/healthz") != 200 {
		t.Fatal("readyz must follow the ready check; healthz must not")
	}
}
