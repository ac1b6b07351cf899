// The process backend of the baseline: a container is this machine, so exec runs the command as a child process
// with the session's streams as its stdio, attach starts the program the container ID names and joins its stdio,
// and port-forward dials the port on 127.0.0.1. kvcloud's benchmark gives its own server the same backend in
// TypeScript, so the two servers are compared doing the same work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"

	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

type processBackend struct{}

func (processBackend) Exec(ctx context.Context, _ string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	return runProcess(ctx, cmd, in, out, errOut, resize)
}

// Attach starts the container's program (its ID is the command line, split on spaces) and joins its stdio until
// it ends or the client leaves.
func (processBackend) Attach(ctx context.Context, containerID string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	return runProcess(ctx, strings.Fields(containerID), in, out, errOut, resize)
}

func (processBackend) PortForward(ctx context.Context, _ string, port int32, stream io.ReadWriteCloser) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		return err
	}
	defer conn.Close()
	// Client to port: the client's end of input half-closes the connection, as TCP would.
	go func() {
		_, _ = io.Copy(conn, stream)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		}
	}()
	// Port to client: the forward is over when the port's side ends (the library then closes the stream).
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(stream, conn)
		done <- err
	}()
	select {
	case err = <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runProcess runs cmd with the session's streams; a non-zero exit becomes the ExitError the library reports as
// the command's exit code. No pty: a tty session gets plain pipes, and resizes are read and dropped.
func runProcess(ctx context.Context, cmd []string, in io.Reader, out, errOut io.WriteCloser, resize <-chan remotecommand.TerminalSize) error {
	if len(cmd) == 0 {
		return errors.New("empty command")
	}
	if resize != nil {
		go func() {
			for range resize {
			}
		}()
	}
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Stdout, c.Stderr = out, errOut
	if in != nil {
		// Copied by hand rather than through c.Stdin: os/exec would make Wait wait for the client's stdin to end even
		// after the process exited. The copy stops when the session closes its streams.
		stdin, err := c.StdinPipe()
		if err != nil {
			return err
		}
		go func() {
			_, _ = io.Copy(stdin, in)
			_ = stdin.Close()
		}()
	}
	err := c.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		return utilexec.CodeExitError{Err: fmt.Errorf("%s: %w", cmd[0], err), Code: exitErr.ExitCode()}
	}
	return err
}
