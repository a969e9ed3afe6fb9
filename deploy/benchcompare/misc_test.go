package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestModuleDir(t *testing.T) {
	dir, err := moduleDir([]byte(`{"Path":"example.com/m","Version":"v1.0.0","Dir":"/mod/example.com/m@v1.0.0"}`))
	if err != nil || dir != "/mod/example.com/m@v1.0.0" {
		t.Errorf("moduleDir = %q, %v", dir, err)
	}
	for _, bad := range []string{`{"Path":"m","Error":"403 Forbidden"}`, `{"Path":"m"}`, `not json`} {
		if _, err := moduleDir([]byte(bad)); !errors.Is(err, errDownload) {
			t.Errorf("moduleDir(%s) = %v, want errDownload", bad, err)
		}
	}
}

func TestCachePathNamesTheVersion(t *testing.T) {
	minio, weed := comparators()
	if got, want := minio.cachePath("bin"), filepath.Join("bin", "compare", "minio-"+minio.Version); got != want {
		t.Errorf("cachePath = %q, want %q", got, want)
	}
	if minio.cachePath("bin") == weed.cachePath("bin") {
		t.Error("both comparators share a cache path")
	}
}

func TestLocateOverride(t *testing.T) {
	minio, _ := comparators()
	bin := filepath.Join(t.TempDir(), "minio")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := locate(t.Context(), minio, t.TempDir(), bin, nil)
	if err != nil || got != bin {
		t.Errorf("locate with an override = %q, %v; want %q", got, err, bin)
	}
	if _, err := locate(t.Context(), minio, t.TempDir(), bin+"-missing", nil); err == nil {
		t.Error("a missing override gave no error")
	}
	// A cached build is used as it is.
	binDir := t.TempDir()
	cached := minio.cachePath(binDir)
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cached, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := locate(t.Context(), minio, binDir, "", nil); err != nil || got != cached {
		t.Errorf("locate with a cached build = %q, %v; want %q", got, err, cached)
	}
}

func TestClusterProcs(t *testing.T) {
	dir := t.TempDir()
	for name, pid := range map[string]string{"meta-1": "11", "meta-2": "12\n", "data-1": "21", "gateway-1": "31"} {
		if err := os.WriteFile(filepath.Join(dir, name+".pid"), []byte(pid), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := clusterProcs(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []proc{{"data", 21}, {"gateway", 31}, {"meta", 11}, {"meta", 12}}
	if !slices.Equal(got, want) {
		t.Errorf("procs = %v, want %v", got, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "data-2.pid"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := clusterProcs(dir); err == nil {
		t.Error("a bad pid file gave no error")
	}
}

func TestParseBenchJSON(t *testing.T) {
	r, err := parseBenchJSON([]byte(`[{"op":"get","object_size":4096,"ops":10,"bytes":40960,"errors":0,"mib_per_sec":1.5,"ops_per_sec":400,"p50_ns":2000000}]`))
	if err != nil || r.Op != "get" || r.Bytes != 40960 || r.P50.Milliseconds() != 2 || r.OpsPerSec != 400 {
		t.Errorf("parse = %+v, %v", r, err)
	}
	if _, err := parseBenchJSON([]byte(`[]`)); err == nil {
		t.Error("no results gave no error")
	}
}
