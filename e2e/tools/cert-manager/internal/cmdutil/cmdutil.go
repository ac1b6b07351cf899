// Package cmdutil holds what the three cert-manager programs of this module share: process setup (signals,
// logging, exit codes), --config file loading with flags taking precedence, and the TLS certificate sources for
// the servers. It imports no component's feature gates, so each program registers only its own.
package cmdutil

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/cert-manager/cert-manager/internal/apis/config/shared"
	cmdexit "github.com/cert-manager/cert-manager/internal/cmd/util"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	servertls "github.com/cert-manager/cert-manager/pkg/server/tls"
	"github.com/cert-manager/cert-manager/pkg/server/tls/authority"
	"github.com/cert-manager/cert-manager/pkg/util"
	"github.com/cert-manager/cert-manager/pkg/util/configfile"
	"github.com/cert-manager/cert-manager/pkg/util/profiling"
)

// Main runs the command that newCommand builds for the named component: SIGINT/SIGTERM cancel its context
// (a second signal exits at once), klog-based logging is set up and flushed, and an error sets a non-zero exit
// code, as in cert-manager's own main functions.
func Main(component string, newCommand func(ctx context.Context) *cobra.Command) {
	ctx, exit := cmdexit.SetupExitHandler(context.Background(), cmdexit.GracefulShutdown)
	defer exit() // may call os.Exit, so deferred first and run last

	logf.InitLogs()
	defer logf.FlushLogs()
	ctrl.SetLogger(logf.Log) // controller-runtime (webhook server, cainjector manager) logs through klog too
	ctx = logf.NewContext(ctx, logf.Log, component)

	cmd := newCommand(ctx)
	// Not an upstream flag: --version prints the stamped version (upstream shows it only in logs). Defined
	// here without a shorthand, so that cobra does not take -v, which is klog's verbosity.
	cmd.Version = fmt.Sprintf("%s (git commit %q)", util.AppVersion, util.AppGitCommit)
	cmd.Flags().Bool("version", false, "Print the version and exit")
	cmd.Flags().AddGoFlagSet(flag.CommandLine)
	cmd.SetArgs(os.Args[1:])
	if err := cmd.ExecuteContext(ctx); err != nil {
		logf.Log.Error(err, "error executing command")
		cmdexit.SetExitCode(err)
	}
}

// VersionLine is shown in --help, as upstream does: "(<version>) (<git commit>)".
func VersionLine() string { return fmt.Sprintf("(%s) (%s)", util.AppVersion, util.AppGitCommit) }

// ApplyConfigFile loads the configuration file at path (if any) into file, lets apply copy it over the live
// configuration, then parses the command line again so that flags given explicitly win over the file.
// Relative paths inside the file are resolved against the file's directory.
func ApplyConfigFile(cmd *cobra.Command, path string, file configfile.ConfigFile, apply func()) error {
	if path == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("failed to load config file %s: %w", path, err)
	}
	loader, err := configfile.NewConfigurationFSLoader(nil, abs)
	if err != nil {
		return fmt.Errorf("failed to load config file %s: %w", path, err)
	}
	if err := loader.Load(file); err != nil {
		return fmt.Errorf("failed to load config file %s: %w", path, err)
	}
	apply()
	if err := cmd.ParseFlags(os.Args[1:]); err != nil {
		return fmt.Errorf("failed to re-parse flags: %w", err)
	}
	return nil
}

// CertificateSource picks the serving certificate source a TLSConfig asks for: files on disk, or leaf
// certificates signed by a CA that is kept in a Secret (created on first use). Nil means plain HTTP.
func CertificateSource(log logr.Logger, c shared.TLSConfig, restConfig *rest.Config, secretLabels map[string]string) servertls.CertificateSource {
	switch {
	case c.FilesystemConfigProvided():
		log.V(logf.InfoLevel).Info("using TLS certificate from local filesystem", "private_key_path", c.Filesystem.KeyFile, "certificate", c.Filesystem.CertFile)
		return &servertls.FileCertificateSource{CertPath: c.Filesystem.CertFile, KeyPath: c.Filesystem.KeyFile}
	case c.DynamicConfigProvided():
		log.V(logf.InfoLevel).Info("using dynamic certificate generating using CA stored in Secret resource", "secret_namespace", c.Dynamic.SecretNamespace, "secret_name", c.Dynamic.SecretName)
		return &servertls.DynamicSource{
			DNSNames: c.Dynamic.DNSNames,
			Authority: &authority.DynamicAuthority{
				SecretNamespace: c.Dynamic.SecretNamespace,
				SecretName:      c.Dynamic.SecretName,
				SecretLabels:    secretLabels,
				LeafDuration:    c.Dynamic.LeafDuration,
				RESTConfig:      restConfig,
			},
		}
	}
	return nil
}

// readHeaderTimeout bounds slow clients on the auxiliary HTTP servers (same value as kube-apiserver).
const readHeaderTimeout = 32 * time.Second

// NewHTTPServer is an http.Server for handler with a header read timeout.
func NewHTTPServer(handler http.Handler) *http.Server {
	return &http.Server{Handler: handler, ReadHeaderTimeout: readHeaderTimeout}
}

// ServeHTTP serves srv on ln until ctx ends, then shuts it down with a 5s grace period.
func ServeHTTP(ctx context.Context, ln net.Listener, srv *http.Server) error {
	errs := make(chan error, 1)
	go func() { errs <- srv.Serve(ln) }()
	select {
	case err := <-errs:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdownCtx) //nolint:contextcheck // the parent context is already done
	}
}

// ProfilerHandler is the /debug/pprof mux.
func ProfilerHandler() http.Handler {
	mux := http.NewServeMux()
	profiling.Install(mux)
	return mux
}
