// Command nulls3 is the throughput smoke test's baseline (test/perf): just
// enough of S3 for `cairn bench` over plain loopback HTTP, storing nothing.
// A PUT reads its body to the end and keeps only its length; a GET of that
// key sends that many bytes; a HEAD of a bucket, and anything else, is a
// bare 200. So a run against it costs the client, the kernel's loopback
// copy and net/http, and nothing of a store: the same bytes through the
// same client as a run against Cairn, with Cairn's work left out.
//
// It prints "listening on <addr>" once it accepts connections.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on")
	flag.Parse()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nulls3:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	if err := http.Serve(lis, newServer()); err != nil {
		fmt.Fprintln(os.Stderr, "nulls3:", err)
		os.Exit(1)
	}
}

// server remembers the length of every object PUT, by path.
type server struct {
	mu    sync.Mutex
	sizes map[string]int64
	fill  []byte
}

func newServer() *server {
	fill := make([]byte, 1<<20)
	for i := range fill {
		fill[i] = byte(i * 31)
	}
	return &server{sizes: map[string]int64{}, fill: fill}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isObject := strings.Contains(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodPut && isObject:
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.sizes[r.URL.Path] = n
		s.mu.Unlock()
		w.Header().Set("ETag", `"00000000000000000000000000000000"`)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && isObject:
		s.mu.Lock()
		n, ok := s.sizes[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, "<Error><Code>NoSuchKey</Code></Error>")
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		w.Header().Set("ETag", `"00000000000000000000000000000000"`)
		if r.Method == http.MethodHead {
			return
		}
		for n > 0 {
			k, err := w.Write(s.fill[:min(n, int64(len(s.fill)))])
			if err != nil {
				return
			}
			n -= int64(k)
		}
	}
}
