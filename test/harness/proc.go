package harness

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is one Cairn process.
type Proc struct {
	Name string
	Dir  string // the process's data directory (if any)
	Addr string // the main address it serves (gRPC or HTTP)
	bin  string
	args []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start launches the process. Its stdout and stderr go to <name>.log next
// to its directory.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s already running", p.Name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	return nil
}

// Running reports whether the process was started and has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// PID returns the process ID, or 0 when not running.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *Proc) signalAndWait(sig syscall.Signal, wait time.Duration) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-done
	}
	p.mu.Lock()
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	return nil
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() error { return p.signalAndWait(syscall.SIGKILL, 10*time.Second) }

// Stop sends SIGTERM and waits (up to 15 s, then SIGKILL).
func (p *Proc) Stop() error { return p.signalAndWait(syscall.SIGTERM, 15*time.Second) }

// Pause stops the process with SIGSTOP; Resume continues it.
func (p *Proc) Pause() error { return p.signal(syscall.SIGSTOP) }

// Resume continues a paused process.
func (p *Proc) Resume() error { return p.signal(syscall.SIGCONT) }

func (p *Proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return errors.New(p.Name + " is not running")
	}
	return p.cmd.Process.Signal(sig)
}

// Restart kills the process if it runs and starts it again with the same
// arguments and directory.
func (p *Proc) Restart() error {
	if err := p.Kill(); err != nil {
		return err
	}
	return p.Start()
}

// raceMarker begins every report the race detector writes to a process's
// stderr.
const raceMarker = "WARNING: DATA RACE"

// RaceReports returns the race detector's reports in the process's log
// (every run of it since the test began), up to 16 KiB from the first, or
// "" when there are none. The processes of a -race build report a race
// and go on, so only their logs tell.
func (p *Proc) RaceReports() string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	i := bytes.Index(b, []byte(raceMarker))
	if i < 0 {
		return ""
	}
	n := bytes.Count(b[i:], []byte(raceMarker))
	b = b[i:]
	if len(b) > 16<<10 {
		b = b[:16<<10]
	}
	return fmt.Sprintf("%d report(s); from the first:\n%s", n, b)
}

// CheckRaces fails t for every process whose log holds a race report.
func CheckRaces(t testing.TB, procs ...*Proc) {
	t.Helper()
	for _, p := range procs {
		if r := p.RaceReports(); r != "" {
			t.Errorf("%s: the race detector reported %s", p.Name, r)
		}
	}
}

// LogTail returns the last n bytes of the process's log, for failure
// messages.
func (p *Proc) LogTail(n int64) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	if int64(len(b)) > n {
		b = b[int64(len(b))-n:]
	}
	return string(b)
}

func newProc(bin, root, name, addr string, withDir bool, args ...string) *Proc {
	p := &Proc{Name: name, Addr: addr, bin: bin, args: args, log: filepath.Join(root, name+".log")}
	if withDir {
		p.Dir = filepath.Join(root, name)
	}
	return p
}
