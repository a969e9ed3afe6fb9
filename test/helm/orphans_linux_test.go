package helm

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the kernel kill cmd's process when the test process
// dies, so a test killed by its timeout leaves no "pods" holding their
// addresses and ports for the next run.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
