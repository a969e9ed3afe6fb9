package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// server is a process this program started, in its own process group so
// that stopping it reaches anything it started.
type server struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// startServer runs bin with args and env (added to this process's),
// appending its output to logPath.
func startServer(bin string, args, env []string, logPath string) (*server, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("benchcompare: %w", err)
	}
	defer lf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("benchcompare: starting %s: %w", bin, err)
	}
	s := &server{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL if it has not
// exited within grace.
func (s *server) stop(grace time.Duration) error {
	pgid := -s.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-s.done:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("benchcompare: process %d did not exit after SIGKILL", s.cmd.Process.Pid)
	}
}

// logTail is the end of the server's log, for error messages.
func (s *server) logTail() string { return tail(s.log, 2000) }

// tail returns up to the last n bytes of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// errNotReady reports a server that did not start serving S3 in time.
var errNotReady = errors.New("benchcompare: server not ready")

// waitReady polls until probe succeeds, the server exits, or timeout.
func waitReady(ctx context.Context, s *server, timeout time.Duration, probe func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if s != nil && s.exited() {
			return fmt.Errorf("%w: it exited; log tail:\n%s", errNotReady, s.logTail())
		}
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		last = probe(pctx)
		cancel()
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", errNotReady, ctx.Err())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v: %w", errNotReady, timeout, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
