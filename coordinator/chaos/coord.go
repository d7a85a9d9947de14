package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// coordProc is one coordinator process, started, killed with SIGKILL and
// started again on the same address.
type coordProc struct {
	name string
	bin  string
	args []string // after "serve"
	env  []string
	addr string
	log  string // file its stderr goes to

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

// freeAddr finds a free loopback port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func newCoordProc(name, bin, dir string, env []string, args ...string) (*coordProc, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return &coordProc{name: name, bin: bin, addr: addr, env: env, log: filepath.Join(dir, name+".log"),
		args: append([]string{"serve", "--addr", addr, "--log-level", "warn"}, args...)}, nil
}

// start runs the coordinator and waits until it answers /healthz.
func (c *coordProc) start(ctx context.Context) error {
	f, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening %s: %w", c.log, err)
	}
	defer f.Close()
	cmd := exec.Command(c.bin, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", c.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	c.mu.Lock()
	c.cmd, c.exited = cmd, exited
	c.starts++
	c.mu.Unlock()
	return c.waitHealthy(ctx, exited)
}

func (c *coordProc) waitHealthy(ctx context.Context, exited chan struct{}) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.addr+"/healthz", nil)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/healthz answered %d", resp.StatusCode)
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited while starting (see %s)", c.name, c.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within a minute (see %s): %w", c.name, c.log, err)
		}
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (c *coordProc) kill() error {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if cmd == nil {
		return errors.New(c.name + " is not running")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s: %w", c.name, err)
	}
	<-exited
	return nil
}

// stop ends the coordinator for good at the end of a run: SIGTERM, so it
// shuts down gracefully, then SIGKILL if it takes too long.
func (c *coordProc) stop() {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	c.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
}
