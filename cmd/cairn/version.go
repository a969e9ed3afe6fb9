package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// printVersion writes "cairn <version> <revision> <commit time> <go>" from
// the build information Go stamps into the binary (a build with
// -buildvcs=true, as `make image` does, carries the commit; others say
// "unknown").
func printVersion(w io.Writer) error {
	version, revision, when, goVersion := "unknown", "unknown", "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && revision != "unknown" {
			revision += "-dirty"
		}
	}
	_, err := fmt.Fprintf(w, "cairn %s revision %s (%s) %s\n", version, revision, when, goVersion)
	return err
}
