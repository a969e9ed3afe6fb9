package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// linkedVersion, linkedRevision and linkedCommitTime are set by the linker
// (`-ldflags -X main.linkedVersion=...`; deploy/image does) and never
// written at run time. Go's own VCS stamping cannot replace them: it skips
// git worktrees.
var (
	linkedVersion    string
	linkedRevision   string
	linkedCommitTime string
)

// printVersion writes "cairn <version> revision <commit> (<commit time>)
// <go version>": from the link-time values when present, else from the
// build information Go stamped, else "unknown".
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
	for _, v := range []struct{ from, to *string }{
		{&linkedVersion, &version}, {&linkedRevision, &revision}, {&linkedCommitTime, &when},
	} {
		if *v.from != "" {
			*v.to = *v.from
		}
	}
	_, err := fmt.Fprintf(w, "cairn %s revision %s (%s) %s\n", version, revision, when, goVersion)
	return err
}
