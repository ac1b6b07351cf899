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
		Use:           component,
		Short:         "cert-manager cainjector, built by kvcloud from cert-manager's library " + cmdutil.VersionLine(),
		Long:          "Copies CA data into webhooks, APIServices and CRDs that ask for it.",
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
	fs.StringVar(&configFile, "config", "", "cainjector: the --config option of upstream cert-manager, same meaning and default")
	addFlags(fs, cfg)
	return cmd
}

// addFlags binds cert-manager's cainjector flags (upstream's names) to the configuration.
func addFlags(fs *pflag.FlagSet, c *config.CAInjectorConfiguration) {
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "cainjector: the --kubeconfig option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "cainjector: the --namespace option of upstream cert-manager, same meaning and default")
	fs.StringSliceVar(&c.IgnoreNamespaces, "ignore-namespaces", c.IgnoreNamespaces, "cainjector: the --ignore-namespaces option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.LeaderElectionConfig.Enabled, "leader-elect", c.LeaderElectionConfig.Enabled, "cainjector: the --leader-elect option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.LeaderElectionConfig.Namespace, "leader-election-namespace", c.LeaderElectionConfig.Namespace, "cainjector: the --leader-election-namespace option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.LeaderElectionConfig.LeaseDuration, "leader-election-lease-duration", c.LeaderElectionConfig.LeaseDuration, "cainjector: the --leader-election-lease-duration option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.LeaderElectionConfig.RenewDeadline, "leader-election-renew-deadline", c.LeaderElectionConfig.RenewDeadline, "cainjector: the --leader-election-renew-deadline option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.LeaderElectionConfig.RetryPeriod, "leader-election-retry-period", c.LeaderElectionConfig.RetryPeriod, "cainjector: the --leader-election-retry-period option of upstream cert-manager, same meaning and default")

	fs.BoolVar(&c.EnableDataSourceConfig.Certificates, "enable-certificates-data-source", c.EnableDataSourceConfig.Certificates, "cainjector: the --enable-certificates-data-source option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.EnableInjectableConfig.ValidatingWebhookConfigurations, "enable-validatingwebhookconfigurations-injectable", c.EnableInjectableConfig.ValidatingWebhookConfigurations, "cainjector: the --enable-validatingwebhookconfigurations-injectable option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.EnableInjectableConfig.MutatingWebhookConfigurations, "enable-mutatingwebhookconfigurations-injectable", c.EnableInjectableConfig.MutatingWebhookConfigurations, "cainjector: the --enable-mutatingwebhookconfigurations-injectable option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.EnableInjectableConfig.CustomResourceDefinitions, "enable-customresourcedefinitions-injectable", c.EnableInjectableConfig.CustomResourceDefinitions, "cainjector: the --enable-customresourcedefinitions-injectable option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.EnableInjectableConfig.APIServices, "enable-apiservices-injectable", c.EnableInjectableConfig.APIServices, "cainjector: the --enable-apiservices-injectable option of upstream cert-manager, same meaning and default")

	fs.BoolVar(&c.EnablePprof, "enable-profiling", c.EnablePprof, "cainjector: the --enable-profiling option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.PprofAddress, "profiler-address", c.PprofAddress, "cainjector: the --profiler-address option of upstream cert-manager, same meaning and default")
	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "cainjector: the --feature-gates option of upstream cert-manager, same meaning and default")
	logf.AddFlags(&c.Logging, fs)

	t := &c.MetricsTLSConfig
	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress, "cainjector: the --metrics-listen-address option of upstream cert-manager, same meaning and default")
	fs.StringVar(&t.Filesystem.CertFile, "metrics-tls-cert-file", t.Filesystem.CertFile, "cainjector: the --metrics-tls-cert-file option of upstream cert-manager, same meaning and default")
	fs.StringVar(&t.Filesystem.KeyFile, "metrics-tls-private-key-file", t.Filesystem.KeyFile, "cainjector: the --metrics-tls-private-key-file option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&t.Dynamic.LeafDuration, "metrics-dynamic-serving-leaf-duration", t.Dynamic.LeafDuration, "cainjector: the --metrics-dynamic-serving-leaf-duration option of upstream cert-manager, same meaning and default")
	fs.StringVar(&t.Dynamic.SecretNamespace, "metrics-dynamic-serving-ca-secret-namespace", t.Dynamic.SecretNamespace, "cainjector: the --metrics-dynamic-serving-ca-secret-namespace option of upstream cert-manager, same meaning and default")
	fs.StringVar(&t.Dynamic.SecretName, "metrics-dynamic-serving-ca-secret-name", t.Dynamic.SecretName, "cainjector: the --metrics-dynamic-serving-ca-secret-name option of upstream cert-manager, same meaning and default")
	fs.StringSliceVar(&t.Dynamic.DNSNames, "metrics-dynamic-serving-dns-names", t.Dynamic.DNSNames, "cainjector: the --metrics-dynamic-serving-dns-names option of upstream cert-manager, same meaning and default")
	fs.StringSliceVar(&t.CipherSuites, "metrics-tls-cipher-suites", t.CipherSuites, "cainjector: the --metrics-tls-cipher-suites option of upstream cert-manager, same meaning and default")
	fs.StringVar(&t.MinTLSVersion, "metrics-tls-min-version", t.MinTLSVersion, "cainjector: the --metrics-tls-min-version option of upstream cert-manager, same meaning and default")
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
