// Command cri-streaming-baseline serves the kubelet's streaming library, k8s.io/cri-streaming, the way a container
// runtime embeds it: a CRI RuntimeService on a Unix socket answers Exec, Attach and PortForward with one-shot URLs
// of the library's stream server on a loopback port, and a process backend does the work (backend.go). It is the
// Go baseline of bench/streaming-throughput.ts: the same client drives it and kvcloud's streaming server.
//
// Once both listeners are up it prints one JSON line to stdout, {"criSocket": ..., "streamURL": ...}, and serves
// until SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming"
)

// criService answers the CRI calls that hand out stream URLs; everything else is UNIMPLEMENTED.
type criService struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	streams streaming.Server
}

func (s *criService) Version(context.Context, *runtimeapi.VersionRequest) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: "cri-streaming-baseline", RuntimeVersion: "0.1.0", RuntimeApiVersion: "v1"}, nil
}

func (s *criService) Exec(_ context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	return s.streams.GetExec(req)
}

func (s *criService) Attach(_ context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return s.streams.GetAttach(req)
}

func (s *criService) PortForward(_ context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return s.streams.GetPortForward(req)
}

func main() {
	criSocket := flag.String("cri-socket", "", "Unix socket of the CRI RuntimeService (required)")
	streamAddr := flag.String("stream-address", "127.0.0.1:0", "host:port of the stream server")
	flag.Parse()
	if err := run(*criSocket, *streamAddr); err != nil {
		fmt.Fprintln(os.Stderr, "cri-streaming-baseline:", err)
		os.Exit(1)
	}
}

func run(criSocket, streamAddr string) error {
	if criSocket == "" {
		return errors.New("-cri-socket is required")
	}
	// The stream listener comes first so the URLs carry its real port even for ":0" (the library's own Start
	// would learn the port only after GetExec may have been called).
	streamListener, err := net.Listen("tcp", streamAddr)
	if err != nil {
		return fmt.Errorf("listen for streams: %w", err)
	}
	config := streaming.DefaultConfig
	config.Addr = streamListener.Addr().String()
	config.BaseURL = &url.URL{Scheme: "http", Host: config.Addr}
	streams, err := streaming.NewServer(config, processBackend{})
	if err != nil {
		return fmt.Errorf("stream server: %w", err)
	}
	streamServer := &http.Server{Handler: streams}

	if err := os.Remove(criSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	criListener, err := net.Listen("unix", criSocket)
	if err != nil {
		return fmt.Errorf("listen for CRI: %w", err)
	}
	grpcServer := grpc.NewServer()
	runtimeapi.RegisterRuntimeServiceServer(grpcServer, &criService{streams: streams})

	failed := make(chan error, 2)
	go func() { failed <- streamServer.Serve(streamListener) }()
	go func() { failed <- grpcServer.Serve(criListener) }()
	ready, _ := json.Marshal(map[string]string{"criSocket": criSocket, "streamURL": config.BaseURL.String()})
	fmt.Println(string(ready))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	select {
	case err = <-failed:
	case <-stop:
	}
	grpcServer.Stop()
	_ = streamServer.Close()
	_ = os.Remove(criSocket)
	return err
}
