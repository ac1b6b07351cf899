// Command cainjector is cert-manager's CA injector (image quay.io/jetstack/cert-manager-cainjector): a
// controller-runtime manager running the injectors of pkg/controller/cainjector, which copy CA data from
// Secrets, Certificates or the kubeconfig into annotated webhook configurations, APIServices and CRDs, with
// Lease-based leader election (lock cert-manager-cainjector-leader-election in --leader-election-namespace).
package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	kscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	cliflag "k8s.io/component-base/cli/flag"
	apireg "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	config "github.com/cert-manager/cert-manager/internal/apis/config/cainjector"
	configscheme "github.com/cert-manager/cert-manager/internal/apis/config/cainjector/scheme"
	"github.com/cert-manager/cert-manager/internal/apis/config/cainjector/validation"
	_ "github.com/cert-manager/cert-manager/internal/cainjector/feature" // registers the cainjector's feature gates
	"github.com/cert-manager/cert-manager/internal/kube"
	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/cainjector/v1alpha1"
	cainjectorconfigfile "github.com/cert-manager/cert-manager/pkg/cainjector/configfile"
	cmscheme "github.com/cert-manager/cert-manager/pkg/client/clientset/versioned/scheme"
	"github.com/cert-manager/cert-manager/pkg/controller/cainjector"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	servertls "github.com/cert-manager/cert-manager/pkg/server/tls"
	"github.com/cert-manager/cert-manager/pkg/util"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"

	"github.com/cert-manager/cert-manager/kvcloud-binaries/internal/cmdutil"
)

const component = "cainjector"

func main() { cmdutil.Main(component, newCommand) }

func defaultConfiguration() (*config.CAInjectorConfiguration, error) {
	scheme, _, err := configscheme.NewSchemeAndCodecs()
	if err != nil {
		return nil, err
	}
	versioned := &configv1alpha1.CAInjectorConfiguration{}
	scheme.Default(versioned)
	cfg := &config.CAInjectorConfiguration{}
	if err := scheme.Convert(versioned, cfg, nil); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newCommand(ctx context.Context) *cobra.Command {
	cfg, err := defaultConfiguration()
	if err != nil {
		logf.FromContext(ctx).Error(err, "failed to create the default cainjector configuration")
		os.Exit(1)
	}
	var configFile string
	cmd := &cobra.Command{
		Use:   component,
		Short: "CA Injection Controller for Kubernetes " + cmdutil.VersionLine(),
		Long: `
cert-manager CA injector is a Kubernetes addon to automate the injection of CA data into
webhooks and APIServices from cert-manager certificates.

It will ensure that annotated webhooks and API services always have the correct
CA data from the referenced certificates, which can then be used to serve API
servers and webhook servers.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			setGates := func() error {
				if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(cfg.FeatureGates); err != nil {
					return fmt.Errorf("failed to set feature gates: %w", err)
				}
				return nil
			}
			if err := setGates(); err != nil {
				return err
			}
			file := cainjectorconfigfile.New()
			if err := cmdutil.ApplyConfigFile(cmd, configFile, file, func() { file.Config.DeepCopyInto(cfg) }); err != nil {
				return err
			}
			if err := setGates(); err != nil {
				return err
			}
			if errs := validation.ValidateCAInjectorConfiguration(cfg, nil); len(errs) > 0 {
				return fmt.Errorf("error validating flags: %w", errs.ToAggregate())
			}
			return logf.ValidateAndApply(&cfg.Logging)
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), cfg) },
	}
	fs := cmd.Flags()
	fs.StringVar(&configFile, "config", "", "Path to a file containing a CAInjectorConfiguration object used to configure the controller")
	addFlags(fs, cfg)
	return cmd
}

// addFlags binds cert-manager's cainjector flags (upstream's names) to the configuration.
func addFlags(fs *pflag.FlagSet, c *config.CAInjectorConfiguration) {
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "Paths to a kubeconfig. Only required if out-of-cluster.")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "If set, this limits the scope of cainjector to a single namespace. If set, cainjector will not update resources with certificates outside of the configured namespace.")
	fs.StringSliceVar(&c.IgnoreNamespaces, "ignore-namespaces", c.IgnoreNamespaces, "Comma-separated namespaces whose Secrets cainjector does not watch for injection.")
	fs.BoolVar(&c.LeaderElectionConfig.Enabled, "leader-elect", c.LeaderElectionConfig.Enabled, "If true, cainjector will perform leader election between instances to ensure no more than one instance of cainjector operates at a time")
	fs.StringVar(&c.LeaderElectionConfig.Namespace, "leader-election-namespace", c.LeaderElectionConfig.Namespace, "Namespace used to perform leader election. Only used if leader election is enabled")
	fs.DurationVar(&c.LeaderElectionConfig.LeaseDuration, "leader-election-lease-duration", c.LeaderElectionConfig.LeaseDuration, "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot.")
	fs.DurationVar(&c.LeaderElectionConfig.RenewDeadline, "leader-election-renew-deadline", c.LeaderElectionConfig.RenewDeadline, "The interval between attempts by the acting master to renew a leadership slot before it stops leading.")
	fs.DurationVar(&c.LeaderElectionConfig.RetryPeriod, "leader-election-retry-period", c.LeaderElectionConfig.RetryPeriod, "The duration the clients should wait between attempting acquisition and renewal of a leadership.")

	fs.BoolVar(&c.EnableDataSourceConfig.Certificates, "enable-certificates-data-source", c.EnableDataSourceConfig.Certificates, "Enable configuring cert-manager.io Certificate resources as potential sources for CA data. Requires the cert-manager.io Certificate CRD to be installed.")
	fs.BoolVar(&c.EnableInjectableConfig.ValidatingWebhookConfigurations, "enable-validatingwebhookconfigurations-injectable", c.EnableInjectableConfig.ValidatingWebhookConfigurations, "Inject CA data to annotated ValidatingWebhookConfigurations (required for cainjector to work as cert-manager's internal component)")
	fs.BoolVar(&c.EnableInjectableConfig.MutatingWebhookConfigurations, "enable-mutatingwebhookconfigurations-injectable", c.EnableInjectableConfig.MutatingWebhookConfigurations, "Inject CA data to annotated MutatingWebhookConfigurations (required for cainjector to work as cert-manager's internal component)")
	fs.BoolVar(&c.EnableInjectableConfig.CustomResourceDefinitions, "enable-customresourcedefinitions-injectable", c.EnableInjectableConfig.CustomResourceDefinitions, "Inject CA data to annotated CustomResourceDefinitions")
	fs.BoolVar(&c.EnableInjectableConfig.APIServices, "enable-apiservices-injectable", c.EnableInjectableConfig.APIServices, "Inject CA data to annotated APIServices")

	fs.BoolVar(&c.EnablePprof, "enable-profiling", c.EnablePprof, "Enable profiling for cainjector.")
	fs.StringVar(&c.PprofAddress, "profiler-address", c.PprofAddress, "The host and port that Go profiler should listen on, i.e localhost:6060. Profiler will be served at /debug/pprof.")
	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "A set of key=value pairs that describe feature gates for alpha/experimental features. Options are:\n"+strings.Join(utilfeature.DefaultFeatureGate.KnownFeatures(), "\n"))
	logf.AddFlags(&c.Logging, fs)

	t := &c.MetricsTLSConfig
	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress, "The host and port that the metrics endpoint should listen on. The value '0' disables the metrics server")
	fs.StringVar(&t.Filesystem.CertFile, "metrics-tls-cert-file", t.Filesystem.CertFile, "path to the file containing the TLS certificate to serve metrics with")
	fs.StringVar(&t.Filesystem.KeyFile, "metrics-tls-private-key-file", t.Filesystem.KeyFile, "path to the file containing the TLS private key to serve metrics with")
	fs.DurationVar(&t.Dynamic.LeafDuration, "metrics-dynamic-serving-leaf-duration", t.Dynamic.LeafDuration, "leaf duration of metrics serving certificates")
	fs.StringVar(&t.Dynamic.SecretNamespace, "metrics-dynamic-serving-ca-secret-namespace", t.Dynamic.SecretNamespace, "namespace of the secret used to store the CA that signs metrics serving certificates")
	fs.StringVar(&t.Dynamic.SecretName, "metrics-dynamic-serving-ca-secret-name", t.Dynamic.SecretName, "name of the secret used to store the CA that signs serving certificates")
	fs.StringSliceVar(&t.Dynamic.DNSNames, "metrics-dynamic-serving-dns-names", t.Dynamic.DNSNames, "DNS names that should be present on certificates generated by the metrics dynamic serving CA")
	fs.StringSliceVar(&t.CipherSuites, "metrics-tls-cipher-suites", t.CipherSuites, "Comma-separated list of cipher suites for the metrics server. Possible values: "+strings.Join(cliflag.TLSCipherPossibleValues(), ","))
	fs.StringVar(&t.MinTLSVersion, "metrics-tls-min-version", t.MinTLSVersion, "Minimum TLS version supported by the metrics server. Possible values: "+strings.Join(cliflag.TLSPossibleVersions(), ", "))
}

// restConfig: --kubeconfig when given, else controller-runtime's lookup (KUBECONFIG, in-cluster service
// account, ~/.kube/config).
func restConfig(c *config.CAInjectorConfiguration) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if c.KubeConfig != "" {
		cfg, err = kube.BuildClientConfig("", c.KubeConfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, err
	}
	return util.RestConfigWithUserAgent(cfg, component), nil
}

func run(ctx context.Context, c *config.CAInjectorConfiguration) error {
	log := logf.FromContext(ctx)
	log.Info("starting cert-manager cainjector", "version", util.AppVersion, "git_commit", util.AppGitCommit)
	rc, err := restConfig(c)
	if err != nil {
		return err
	}

	var namespaces map[string]cache.Config
	if c.Namespace != "" {
		namespaces = map[string]cache.Config{c.Namespace: {}}
	}
	metricsCertSource := cmdutil.CertificateSource(log, c.MetricsTLSConfig, rc, nil)
	metricsOptions, err := metricsServerOptions(c, metricsCertSource)
	if err != nil {
		return err
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(kscheme.AddToScheme(scheme))
	utilruntime.Must(cmscheme.AddToScheme(scheme))
	utilruntime.Must(apiext.AddToScheme(scheme))
	utilruntime.Must(apireg.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(rc, ctrl.Options{
		Scheme: scheme,
		Cache:  cache.Options{ReaderFailOnMissingInformer: true, DefaultNamespaces: namespaces},
		// Secrets are read straight from the apiserver (their watches cache metadata only), so that a cluster's
		// many large Secrets are never all held in memory.
		Client:                        client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
		LeaderElection:                c.LeaderElectionConfig.Enabled,
		LeaderElectionNamespace:       c.LeaderElectionConfig.Namespace,
		LeaderElectionID:              "cert-manager-cainjector-leader-election",
		LeaderElectionReleaseOnCancel: true,
		LeaderElectionResourceLock:    resourcelock.LeasesResourceLock,
		LeaseDuration:                 &c.LeaderElectionConfig.LeaseDuration,
		RenewDeadline:                 &c.LeaderElectionConfig.RenewDeadline,
		RetryPeriod:                   &c.LeaderElectionConfig.RetryPeriod,
		Metrics:                       metricsOptions,
	})
	if err != nil {
		return fmt.Errorf("error creating manager: %w", err)
	}
	if metricsCertSource != nil {
		if err := mgr.Add(metricsCertSource); err != nil {
			return err
		}
	}
	if c.EnablePprof {
		ln, err := net.Listen("tcp", c.PprofAddress)
		if err != nil {
			return err
		}
		log.V(logf.InfoLevel).Info("running go profiler on", "address", c.PprofAddress)
		if err := mgr.Add(everyReplica(func(ctx context.Context) error {
			return cmdutil.ServeHTTP(ctx, ln, cmdutil.NewHTTPServer(cmdutil.ProfilerHandler()))
		})); err != nil {
			return err
		}
	}

	// With Certificates as a data source (the default), wait up to 5 minutes for their CRD to exist.
	if c.EnableDataSourceConfig.Certificates {
		direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper()})
		if err != nil {
			return fmt.Errorf("failed to create client: %w", err)
		}
		err = wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
			err := direct.Get(ctx, types.NamespacedName{Name: "certificates.cert-manager.io"}, &apiext.CustomResourceDefinition{})
			switch {
			case apierrors.IsNotFound(err):
				log.Info("cainjector has been configured to watch certificates, but certificates.cert-manager.io CRD not found, retrying with a backoff...")
				return false, nil
			case err != nil:
				log.Error(err, "error checking if certificates.cert-manager.io CRD is installed")
				return false, err
			}
			log.V(logf.DebugLevel).Info("certificates.cert-manager.io CRD found")
			return true, nil
		})
		if err != nil {
			log.Error(err, "error retrieving certificate.cert-manager.io CRDs")
			return err
		}
	}

	if err := cainjector.RegisterAllInjectors(ctx, mgr, cainjector.SetupOptions{
		Namespace:                    c.Namespace,
		IgnoreNamespaces:             c.IgnoreNamespaces,
		EnableCertificatesDataSource: c.EnableDataSourceConfig.Certificates,
		EnabledReconcilersFor: map[string]bool{
			cainjector.MutatingWebhookConfigurationName:   c.EnableInjectableConfig.MutatingWebhookConfigurations,
			cainjector.ValidatingWebhookConfigurationName: c.EnableInjectableConfig.ValidatingWebhookConfigurations,
			cainjector.APIServiceName:                     c.EnableInjectableConfig.APIServices,
			cainjector.CustomResourceDefinitionName:       c.EnableInjectableConfig.CustomResourceDefinitions,
		},
	}); err != nil {
		log.Error(err, "failed to register controllers")
		return err
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("error running manager: %w", err)
	}
	return nil
}

func metricsServerOptions(c *config.CAInjectorConfiguration, source servertls.CertificateSource) (metricsserver.Options, error) {
	o := metricsserver.Options{BindAddress: c.MetricsListenAddress}
	if source == nil {
		return o, nil
	}
	suites, err := cliflag.TLSCipherSuites(c.MetricsTLSConfig.CipherSuites)
	if err != nil {
		return o, err
	}
	minVersion, err := cliflag.TLSVersion(c.MetricsTLSConfig.MinTLSVersion)
	if err != nil {
		return o, err
	}
	o.SecureServing = true
	o.TLSOpts = []func(*tls.Config){func(t *tls.Config) {
		t.CipherSuites = suites
		t.MinVersion = minVersion
		t.GetCertificate = source.GetCertificate
	}}
	return o, nil
}

// everyReplica is a manager runnable that runs whether or not this replica leads.
type everyReplica func(context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }
func (everyReplica) NeedLeaderElection() bool          { return false }
