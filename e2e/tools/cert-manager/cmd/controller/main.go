// Command controller is cert-manager's controller (image quay.io/jetstack/cert-manager-controller), assembled
// from the published cert-manager module: the ControllerConfiguration defaults, --config file and validation,
// the controllers registered in pkg/controller, and the metrics, healthz and profiler servers, with Lease-based
// leader election (lock cert-manager-controller in --leader-election-namespace).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	cliflag "k8s.io/component-base/cli/flag"

	config "github.com/cert-manager/cert-manager/internal/apis/config/controller"
	configscheme "github.com/cert-manager/cert-manager/internal/apis/config/controller/scheme"
	defaults "github.com/cert-manager/cert-manager/internal/apis/config/controller/v1alpha1"
	"github.com/cert-manager/cert-manager/internal/apis/config/controller/validation"
	"github.com/cert-manager/cert-manager/internal/apis/config/shared"
	"github.com/cert-manager/cert-manager/internal/controller/feature"
	"github.com/cert-manager/cert-manager/internal/pem"
	configv1alpha1 "github.com/cert-manager/cert-manager/pkg/apis/config/controller/v1alpha1"
	"github.com/cert-manager/cert-manager/pkg/controller"
	shimgatewaycontroller "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/gateways"
	controllerconfigfile "github.com/cert-manager/cert-manager/pkg/controller/configfile"
	"github.com/cert-manager/cert-manager/pkg/healthz"
	dnsutil "github.com/cert-manager/cert-manager/pkg/issuer/acme/dns/util"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/server"
	"github.com/cert-manager/cert-manager/pkg/util"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"

	"github.com/cert-manager/cert-manager/kvcloud-binaries/internal/cmdutil"

	// Controllers and issuer implementations register themselves when imported.
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	_ "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/gateways"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	_ "github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/vault"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/venafi"
)

const component = "controller"

func main() { cmdutil.Main(component, newCommand) }

// defaultConfiguration is the v1alpha1 ControllerConfiguration with its API defaults, in internal form.
func defaultConfiguration() (*config.ControllerConfiguration, error) {
	scheme, _, err := configscheme.NewSchemeAndCodecs()
	if err != nil {
		return nil, err
	}
	versioned := &configv1alpha1.ControllerConfiguration{}
	scheme.Default(versioned)
	cfg := &config.ControllerConfiguration{}
	if err := scheme.Convert(versioned, cfg, nil); err != nil {
		return nil, err
	}
	return cfg, nil
}

func newCommand(ctx context.Context) *cobra.Command {
	cfg, err := defaultConfiguration()
	if err != nil {
		logf.FromContext(ctx).Error(err, "failed to create the default controller configuration")
		os.Exit(1)
	}
	var configFile string
	cmd := &cobra.Command{
		Use:           component,
		Short:         "cert-manager controller, built by kvcloud from cert-manager's library " + cmdutil.VersionLine(),
		Long:          "Issues and renews certificates for Certificate, Issuer and ClusterIssuer resources.",
		SilenceErrors: true,
		SilenceUsage:  true,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			setGates := func() error {
				if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(cfg.FeatureGates); err != nil {
					return fmt.Errorf("failed to set feature gates: %w", err)
				}
				return nil
			}
			// Gates first from the flags (the file may only be decodable with them), then again after the file.
			if err := setGates(); err != nil {
				return err
			}
			file := controllerconfigfile.New()
			if err := cmdutil.ApplyConfigFile(cmd, configFile, file, func() { file.Config.DeepCopyInto(cfg) }); err != nil {
				return err
			}
			if err := setGates(); err != nil {
				return err
			}
			if errs := validation.ValidateControllerConfiguration(cfg, nil); len(errs) > 0 {
				return fmt.Errorf("error validating flags: %w", errs.ToAggregate())
			}
			return logf.ValidateAndApply(&cfg.Logging)
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), cfg) },
	}
	fs := cmd.Flags()
	fs.StringVar(&configFile, "config", "", "controller: the --config option of upstream cert-manager, same meaning and default")
	addFlags(fs, cfg)
	return cmd
}

// addFlags binds cert-manager's controller flags (upstream's names) to the configuration; everything else in
// ControllerConfiguration (for instance pemSizeLimitsConfig, gatewayAPI.extraProtocols) is set via --config.
func addFlags(fs *pflag.FlagSet, c *config.ControllerConfiguration) {
	fs.StringVar(&c.APIServerHost, "master", c.APIServerHost, "controller: the --master option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "controller: the --kubeconfig option of upstream cert-manager, same meaning and default")
	fs.Float32Var(&c.KubernetesAPIQPS, "kube-api-qps", c.KubernetesAPIQPS, "controller: the --kube-api-qps option of upstream cert-manager, same meaning and default")
	fs.IntVar(&c.KubernetesAPIBurst, "kube-api-burst", c.KubernetesAPIBurst, "controller: the --kube-api-burst option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.ClusterResourceNamespace, "cluster-resource-namespace", c.ClusterResourceNamespace, "controller: the --cluster-resource-namespace option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "controller: the --namespace option of upstream cert-manager, same meaning and default")

	fs.BoolVar(&c.LeaderElectionConfig.Enabled, "leader-elect", c.LeaderElectionConfig.Enabled, "controller: the --leader-elect option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.LeaderElectionConfig.Namespace, "leader-election-namespace", c.LeaderElectionConfig.Namespace, "controller: the --leader-election-namespace option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.LeaderElectionConfig.LeaseDuration, "leader-election-lease-duration", c.LeaderElectionConfig.LeaseDuration, "controller: the --leader-election-lease-duration option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.LeaderElectionConfig.RenewDeadline, "leader-election-renew-deadline", c.LeaderElectionConfig.RenewDeadline, "controller: the --leader-election-renew-deadline option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.LeaderElectionConfig.RetryPeriod, "leader-election-retry-period", c.LeaderElectionConfig.RetryPeriod, "controller: the --leader-election-retry-period option of upstream cert-manager, same meaning and default")

	fs.StringSliceVar(&c.Controllers, "controllers", c.Controllers, "controller: the --controllers option of upstream cert-manager, same meaning and default")

	fs.StringVar(&c.ACMEHTTP01Config.SolverImage, "acme-http01-solver-image", c.ACMEHTTP01Config.SolverImage, "controller: the --acme-http01-solver-image option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceRequestCPU, "acme-http01-solver-resource-request-cpu", c.ACMEHTTP01Config.SolverResourceRequestCPU, "controller: the --acme-http01-solver-resource-request-cpu option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceRequestMemory, "acme-http01-solver-resource-request-memory", c.ACMEHTTP01Config.SolverResourceRequestMemory, "controller: the --acme-http01-solver-resource-request-memory option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceLimitsCPU, "acme-http01-solver-resource-limits-cpu", c.ACMEHTTP01Config.SolverResourceLimitsCPU, "controller: the --acme-http01-solver-resource-limits-cpu option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceLimitsMemory, "acme-http01-solver-resource-limits-memory", c.ACMEHTTP01Config.SolverResourceLimitsMemory, "controller: the --acme-http01-solver-resource-limits-memory option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.ACMEHTTP01Config.SolverRunAsNonRoot, "acme-http01-solver-run-as-non-root", c.ACMEHTTP01Config.SolverRunAsNonRoot, "controller: the --acme-http01-solver-run-as-non-root option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.ACMEHTTP01Config.SolverRuntimeClassName, "acme-http01-solver-runtime-class-name", c.ACMEHTTP01Config.SolverRuntimeClassName, "controller: the --acme-http01-solver-runtime-class-name option of upstream cert-manager, same meaning and default")
	fs.StringSliceVar(&c.ACMEHTTP01Config.SolverNameservers, "acme-http01-solver-nameservers", c.ACMEHTTP01Config.SolverNameservers, "controller: the --acme-http01-solver-nameservers option of upstream cert-manager, same meaning and default")
	fs.Var(cliflag.NewMapStringString(&c.ACMEHTTP01Config.SolverExtraLabels), "acme-http01-solver-extra-labels", "controller: the --acme-http01-solver-extra-labels option of upstream cert-manager, same meaning and default")

	fs.BoolVar(&c.ClusterIssuerAmbientCredentials, "cluster-issuer-ambient-credentials", c.ClusterIssuerAmbientCredentials, "controller: the --cluster-issuer-ambient-credentials option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.IssuerAmbientCredentials, "issuer-ambient-credentials", c.IssuerAmbientCredentials, "controller: the --issuer-ambient-credentials option of upstream cert-manager, same meaning and default")

	fs.StringSliceVar(&c.IngressShimConfig.DefaultAutoCertificateAnnotations, "auto-certificate-annotations", c.IngressShimConfig.DefaultAutoCertificateAnnotations, "controller: the --auto-certificate-annotations option of upstream cert-manager, same meaning and default")
	fs.StringSliceVar(&c.IngressShimConfig.ExtraCertificateAnnotations, "extra-certificate-annotations", c.IngressShimConfig.ExtraCertificateAnnotations, "controller: the --extra-certificate-annotations option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.IngressShimConfig.DefaultIssuerName, "default-issuer-name", c.IngressShimConfig.DefaultIssuerName, "controller: the --default-issuer-name option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.IngressShimConfig.DefaultIssuerKind, "default-issuer-kind", c.IngressShimConfig.DefaultIssuerKind, "controller: the --default-issuer-kind option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.IngressShimConfig.DefaultIssuerGroup, "default-issuer-group", c.IngressShimConfig.DefaultIssuerGroup, "controller: the --default-issuer-group option of upstream cert-manager, same meaning and default")

	fs.StringSliceVar(&c.ACMEDNS01Config.RecursiveNameservers, "dns01-recursive-nameservers", c.ACMEDNS01Config.RecursiveNameservers, "controller: the --dns01-recursive-nameservers option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.ACMEDNS01Config.RecursiveNameserversOnly, "dns01-recursive-nameservers-only", c.ACMEDNS01Config.RecursiveNameserversOnly, "controller: the --dns01-recursive-nameservers-only option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.ACMEDNS01Config.CheckRetryPeriod, "dns01-check-retry-period", c.ACMEDNS01Config.CheckRetryPeriod, "controller: the --dns01-check-retry-period option of upstream cert-manager, same meaning and default")

	fs.BoolVar(&c.EnableCertificateOwnerRef, "enable-certificate-owner-ref", c.EnableCertificateOwnerRef, "controller: the --enable-certificate-owner-ref option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.GatewayAPIConfig.Enabled, "enable-gateway-api", c.GatewayAPIConfig.Enabled, "controller: the --enable-gateway-api option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.GatewayAPIConfig.EnableListenerSet, "enable-gateway-api-listenerset", c.GatewayAPIConfig.EnableListenerSet, "controller: the --enable-gateway-api-listenerset option of upstream cert-manager, same meaning and default")
	fs.StringSliceVar(&c.CopiedAnnotationPrefixes, "copied-annotation-prefixes", c.CopiedAnnotationPrefixes, "controller: the --copied-annotation-prefixes option of upstream cert-manager, same meaning and default")
	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "controller: the --feature-gates option of upstream cert-manager, same meaning and default")

	fs.IntVar(&c.NumberOfConcurrentWorkers, "concurrent-workers", c.NumberOfConcurrentWorkers, "controller: the --concurrent-workers option of upstream cert-manager, same meaning and default")
	fs.IntVar(&c.MaxConcurrentChallenges, "max-concurrent-challenges", c.MaxConcurrentChallenges, "controller: the --max-concurrent-challenges option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.CertificateRequestMinimumBackoffDuration, "certificate-request-minimum-backoff-duration", c.CertificateRequestMinimumBackoffDuration, "controller: the --certificate-request-minimum-backoff-duration option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.CertificateRequestMaximumBackoffDuration, "certificate-request-maximum-backoff-duration", c.CertificateRequestMaximumBackoffDuration, "controller: the --certificate-request-maximum-backoff-duration option of upstream cert-manager, same meaning and default")

	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress, "controller: the --metrics-listen-address option of upstream cert-manager, same meaning and default")
	fs.BoolVar(&c.EnablePprof, "enable-profiling", c.EnablePprof, "controller: the --enable-profiling option of upstream cert-manager, same meaning and default")
	fs.StringVar(&c.PprofAddress, "profiler-address", c.PprofAddress, "controller: the --profiler-address option of upstream cert-manager, same meaning and default")
	addTLSFlags(fs, "metrics-", &c.MetricsTLSConfig)

	// Hidden, as upstream: the /livez server used by the Deployment's liveness probe.
	fs.StringVar(&c.HealthzListenAddress, "internal-healthz-listen-address", c.HealthzListenAddress, "controller: the --internal-healthz-listen-address option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&c.LeaderElectionConfig.HealthzTimeout, "internal-healthz-leader-election-timeout", c.LeaderElectionConfig.HealthzTimeout, "controller: the --internal-healthz-leader-election-timeout option of upstream cert-manager, same meaning and default")
	_ = fs.MarkHidden("internal-healthz-listen-address")
	_ = fs.MarkHidden("internal-healthz-leader-election-timeout")

	logf.AddFlags(&c.Logging, fs)
}

// addTLSFlags binds the serving TLS flags (files, or a dynamic CA in a Secret) of one server, named prefix+...
func addTLSFlags(fs *pflag.FlagSet, prefix string, t *shared.TLSConfig) {
	fs.StringVar(&t.Filesystem.CertFile, prefix+"tls-cert-file", t.Filesystem.CertFile, "controller: the --prefix-tls-cert-file option of upstream cert-manager, same meaning and default")
	fs.StringVar(&t.Filesystem.KeyFile, prefix+"tls-private-key-file", t.Filesystem.KeyFile, "controller: the --prefix-tls-private-key-file option of upstream cert-manager, same meaning and default")
	fs.DurationVar(&t.Dynamic.LeafDuration, prefix+"dynamic-serving-leaf-duration", t.Dynamic.LeafDuration, "controller: the --prefix-dynamic-serving-leaf-duration option of upstream cert-manager, same meaning and default")
	fs.StringVar(&t.Dynamic.SecretNamespace, prefix+"dynamic-serving-ca-secret-namespace", t.Dynamic.SecretNamespace, "controller: the --prefix-dynamic-serving-ca-secret-namespace option of upstream cert-manager, same meaning and default")
	fs.StringVar(&t.Dynamic.SecretName, prefix+"dynamic-serving-ca-secret-name", t.Dynamic.SecretName, "controller: the --prefix-dynamic-serving-ca-secret-name option of upstream cert-manager, same meaning and default")
	fs.StringSliceVar(&t.Dynamic.DNSNames, prefix+"dynamic-serving-dns-names", t.Dynamic.DNSNames, "controller: the --prefix-dynamic-serving-dns-names option of upstream cert-manager, same meaning and default")
	fs.StringSliceVar(&t.CipherSuites, prefix+"tls-cipher-suites", t.CipherSuites, "controller: the --prefix-tls-cipher-suites option of upstream cert-manager, same meaning and default")
	fs.StringVar(&t.MinTLSVersion, prefix+"tls-min-version", t.MinTLSVersion, "controller: the --prefix-tls-min-version option of upstream cert-manager, same meaning and default")
}

// enabledControllers resolves --controllers ("*", names, "-name") plus what feature gates and options add,
// and drops cluster-scoped controllers when running namespaced.
func enabledControllers(c *config.ControllerConfiguration) sets.Set[string] {
	enabled := sets.New[string]()
	var disabled []string
	for _, name := range c.Controllers {
		switch {
		case name == "*":
			enabled.Insert(defaults.DefaultEnabledControllers...)
		case strings.HasPrefix(name, "-"):
			disabled = append(disabled, strings.TrimPrefix(name, "-"))
		default:
			enabled.Insert(name)
		}
	}
	if len(disabled) > 0 && enabled.Len() == 0 { // only exclusions given: "*" is implied
		enabled.Insert(defaults.DefaultEnabledControllers...)
	}
	if utilfeature.DefaultFeatureGate.Enabled(feature.ExperimentalCertificateSigningRequestControllers) {
		logf.Log.Info("enabling all experimental certificatesigningrequest controllers")
		enabled.Insert(defaults.ExperimentalCertificateSigningRequestControllers...)
	}
	if gatewayAPIEnabled(c) {
		logf.Log.Info("enabling the sig-network Gateway API certificate-shim and HTTP-01 solver")
		enabled.Insert(shimgatewaycontroller.ControllerName)
	}
	if c.Namespace != "" {
		logf.Log.Info("disabling all cluster-scoped controllers as cert-manager is scoped to a single namespace",
			"controllers", strings.Join(defaults.ClusterScopedControllers, ", "))
		enabled.Delete(defaults.ClusterScopedControllers...)
	}
	return enabled.Delete(disabled...)
}

func gatewayAPIEnabled(c *config.ControllerConfiguration) bool {
	return utilfeature.DefaultFeatureGate.Enabled(feature.ExperimentalGatewayAPISupport) &&
		(c.GatewayAPIConfig.Enabled || c.EnableGatewayAPI) //nolint:staticcheck // deprecated field still honoured
}

func contextOptions(c *config.ControllerConfiguration) (controller.ContextOptions, error) {
	quantity := func(name, v string) (resource.Quantity, error) {
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return q, fmt.Errorf("error parsing %s: %w", name, err)
		}
		return q, nil
	}
	var errs []error
	reqCPU, err := quantity("ACMEHTTP01SolverResourceRequestCPU", c.ACMEHTTP01Config.SolverResourceRequestCPU)
	errs = append(errs, err)
	reqMem, err := quantity("ACMEHTTP01SolverResourceRequestMemory", c.ACMEHTTP01Config.SolverResourceRequestMemory)
	errs = append(errs, err)
	limCPU, err := quantity("ACMEHTTP01SolverResourceLimitsCPU", c.ACMEHTTP01Config.SolverResourceLimitsCPU)
	errs = append(errs, err)
	limMem, err := quantity("ACMEHTTP01SolverResourceLimitsMemory", c.ACMEHTTP01Config.SolverResourceLimitsMemory)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return controller.ContextOptions{}, err
	}
	nameservers := c.ACMEDNS01Config.RecursiveNameservers
	if len(nameservers) == 0 {
		nameservers = dnsutil.RecursiveNameservers
	}
	return controller.ContextOptions{
		APIServerHost:      c.APIServerHost,
		Kubeconfig:         c.KubeConfig,
		KubernetesAPIQPS:   c.KubernetesAPIQPS,
		KubernetesAPIBurst: c.KubernetesAPIBurst,
		Namespace:          c.Namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        c.ClusterResourceNamespace,
			ClusterIssuerAmbientCredentials: c.ClusterIssuerAmbientCredentials,
			IssuerAmbientCredentials:        c.IssuerAmbientCredentials,
		},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverImage:                 c.ACMEHTTP01Config.SolverImage,
			HTTP01SolverResourceRequestCPU:    reqCPU,
			HTTP01SolverResourceRequestMemory: reqMem,
			HTTP01SolverResourceLimitsCPU:     limCPU,
			HTTP01SolverResourceLimitsMemory:  limMem,
			ACMEHTTP01SolverRunAsNonRoot:      c.ACMEHTTP01Config.SolverRunAsNonRoot,
			HTTP01SolverRuntimeClassName:      c.ACMEHTTP01Config.SolverRuntimeClassName,
			HTTP01SolverNameservers:           c.ACMEHTTP01Config.SolverNameservers,
			HTTP01SolverExtraLabels:           c.ACMEHTTP01Config.SolverExtraLabels,
			DNS01CheckAuthoritative:           !c.ACMEDNS01Config.RecursiveNameserversOnly,
			DNS01Nameservers:                  nameservers,
			DNS01CheckRetryPeriod:             c.ACMEDNS01Config.CheckRetryPeriod,
		},
		IngressShimOptions: controller.IngressShimOptions{
			DefaultIssuerName:                 c.IngressShimConfig.DefaultIssuerName,
			DefaultIssuerKind:                 c.IngressShimConfig.DefaultIssuerKind,
			DefaultIssuerGroup:                c.IngressShimConfig.DefaultIssuerGroup,
			DefaultAutoCertificateAnnotations: c.IngressShimConfig.DefaultAutoCertificateAnnotations,
			ExtraCertificateAnnotations:       c.IngressShimConfig.ExtraCertificateAnnotations,
			GatewayAPIExtraProtocols:          sets.New(c.GatewayAPIConfig.ExtraProtocols...),
		},
		CertificateOptions: controller.CertificateOptions{
			EnableOwnerRef:                           c.EnableCertificateOwnerRef,
			CopiedAnnotationPrefixes:                 c.CopiedAnnotationPrefixes,
			CertificateRequestMinimumBackoffDuration: c.CertificateRequestMinimumBackoffDuration,
			CertificateRequestMaximumBackoffDuration: c.CertificateRequestMaximumBackoffDuration,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: c.MaxConcurrentChallenges},
		ConfigOptions: controller.ConfigOptions{
			EnableGatewayAPI:            c.GatewayAPIConfig.Enabled || c.EnableGatewayAPI,                      //nolint:staticcheck
			EnableGatewayAPIListenerSet: c.GatewayAPIConfig.EnableListenerSet || c.EnableGatewayAPIListenerSet, //nolint:staticcheck
		},
	}, nil
}

func run(rootCtx context.Context, c *config.ControllerConfiguration) error {
	rootCtx, cancel := context.WithCancel(rootCtx)
	defer cancel()
	log := logf.FromContext(rootCtx)
	log.Info("starting cert-manager controller", "version", util.AppVersion, "git_commit", util.AppGitCommit)

	pem.SetGlobalSizeLimits(pem.NewSizeLimitsFromConfig(c.PEMSizeLimitsConfig.MaxCertificateSize,
		c.PEMSizeLimitsConfig.MaxPrivateKeySize, c.PEMSizeLimitsConfig.MaxChainLength, c.PEMSizeLimitsConfig.MaxBundleSize))

	opts, err := contextOptions(c)
	if err != nil {
		return err
	}
	nameservers := opts.DNS01Nameservers
	log.V(logf.InfoLevel).WithName("build-context").WithValues("nameservers", nameservers).Info("configured acme dns01 nameservers")

	g, gctx := errgroup.WithContext(rootCtx)
	factory, err := controller.NewContextFactory(gctx, opts)
	if err != nil {
		return err
	}
	base, err := factory.Build()
	if err != nil {
		return err
	}
	enabled := enabledControllers(c)
	log.Info(fmt.Sprintf("enabled controllers: %s", sets.List(enabled)))

	// Metrics (HTTPS when a certificate source is configured).
	certSource := cmdutil.CertificateSource(log, c.MetricsTLSConfig, base.RESTConfig, map[string]string{"app.kubernetes.io/managed-by": "cert-manager"})
	if certSource != nil {
		g.Go(func() error {
			if err := certSource.Start(gctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	metricsLn, err := server.Listen(gctx, "tcp", c.MetricsListenAddress,
		server.WithCertificateSource(certSource),
		server.WithTLSCipherSuites(c.MetricsTLSConfig.CipherSuites),
		server.WithTLSMinVersion(c.MetricsTLSConfig.MinTLSVersion))
	if err != nil {
		return fmt.Errorf("failed to listen on prometheus address %s: %w", c.MetricsListenAddress, err)
	}
	// The collectors behind certmanager_certificate_*, _challenge_*, _issuer_* and _clusterissuer_* read the
	// shared informers' listers; they must be set up before NewServer registers them.
	base.Metrics.SetupACMECollector(base.SharedInformerFactory.Acme().V1().Challenges().Lister())
	base.Metrics.SetupCertificateCollector(base.SharedInformerFactory.Certmanager().V1().Certificates().Lister())
	base.Metrics.SetupIssuerCollector(base.SharedInformerFactory.Certmanager().V1().Issuers().Lister())
	if c.Namespace == "" { // ClusterIssuers are not watched when cert-manager is scoped to one namespace
		base.Metrics.SetupClusterIssuerCollector(base.SharedInformerFactory.Certmanager().V1().ClusterIssuers().Lister())
	}
	metricsServer := base.Metrics.NewServer(metricsLn)
	log.V(logf.InfoLevel).Info("starting metrics server", "address", metricsLn.Addr(), "tls", certSource != nil)
	g.Go(func() error { return cmdutil.ServeHTTP(gctx, metricsLn, metricsServer) })

	if c.EnablePprof {
		ln, err := net.Listen("tcp", c.PprofAddress)
		if err != nil {
			return fmt.Errorf("failed to listen on profiler address %s: %w", c.PprofAddress, err)
		}
		log.V(logf.InfoLevel).Info("starting profiler", "address", ln.Addr())
		g.Go(func() error { return cmdutil.ServeHTTP(gctx, ln, cmdutil.NewHTTPServer(cmdutil.ProfilerHandler())) })
	}

	healthzLn, err := net.Listen("tcp", c.HealthzListenAddress)
	if err != nil {
		return fmt.Errorf("failed to listen on healthz address %s: %w", c.HealthzListenAddress, err)
	}
	healthzServer := healthz.NewServer(c.LeaderElectionConfig.HealthzTimeout)
	log.V(logf.InfoLevel).Info("starting healthz server", "address", healthzLn.Addr())
	g.Go(func() error { return healthzServer.Start(gctx, healthzLn) })

	elected := make(chan struct{})
	if c.LeaderElectionConfig.Enabled {
		leCtx, err := factory.Build("leader-election")
		if err != nil {
			return err
		}
		g.Go(func() error { return leaderElection(gctx, c, leCtx, healthzServer.LeaderHealthzAdaptor, elected) })
	} else {
		close(elected)
	}

	select {
	case <-gctx.Done():
		return g.Wait()
	case <-elected:
	}

	for name, construct := range controller.Known() {
		clog := log.WithValues("controller", name)
		if !enabled.Has(name) {
			clog.V(logf.InfoLevel).Info("skipping disabled controller")
			continue
		}
		iface, err := construct(factory)
		if err != nil {
			cancel()
			return errors.Join(fmt.Errorf("error starting controller %s: %w", name, err), g.Wait())
		}
		g.Go(func() error {
			clog.V(logf.InfoLevel).Info("starting controller")
			return iface.Run(c.NumberOfConcurrentWorkers, gctx)
		})
	}

	log.V(logf.DebugLevel).Info("starting shared informer factories")
	base.SharedInformerFactory.Start(gctx.Done())
	base.KubeSharedInformerFactory.Start(gctx.Done())
	base.HTTP01ResourceMetadataInformersFactory.Start(gctx.Done())
	gateway := gatewayAPIEnabled(c)
	if gateway {
		base.GWShared.Start(gctx.Done())
	}

	err = g.Wait()
	log.V(logf.InfoLevel).Info("control loops exited")
	if gateway {
		base.GWShared.Shutdown()
	}
	base.HTTP01ResourceMetadataInformersFactory.Shutdown()
	base.KubeSharedInformerFactory.Shutdown()
	base.SharedInformerFactory.Shutdown()
	if err != nil {
		return fmt.Errorf("error running controller: %w", err)
	}
	return nil
}

// leaderElection campaigns for the Lease <leader-election-namespace>/cert-manager-controller and closes
// elected once it leads. Losing the lease while still running is an error (the process exits non-zero and
// its supervisor restarts it), as upstream.
func leaderElection(ctx context.Context, c *config.ControllerConfiguration, leCtx *controller.Context,
	watchdog *leaderelection.HealthzAdaptor, elected chan<- struct{}) error {
	log := logf.FromContext(ctx, "leader-election")
	log.V(logf.InfoLevel).Info("starting leader election")
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("error getting hostname: %w", err)
	}
	lock, err := resourcelock.New(resourcelock.LeasesResourceLock, c.LeaderElectionConfig.Namespace, "cert-manager-controller",
		leCtx.Client.CoreV1(), leCtx.Client.CoordinationV1(),
		resourcelock.ResourceLockConfig{Identity: host + "-external-cert-manager-controller", EventRecorder: leCtx.Recorder})
	if err != nil {
		return fmt.Errorf("error creating leader election lock: %w", err)
	}
	lost := make(chan struct{}, 1)
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   c.LeaderElectionConfig.LeaseDuration,
		RenewDeadline:   c.LeaderElectionConfig.RenewDeadline,
		RetryPeriod:     c.LeaderElectionConfig.RetryPeriod,
		ReleaseOnCancel: true,
		WatchDog:        watchdog,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) { close(elected) },
			OnStoppedLeading: func() {
				if ctx.Err() == nil {
					lost <- struct{}{}
				}
			},
		},
	})
	if err != nil {
		return err
	}
	le.Run(ctx)
	select {
	case <-lost:
		return errors.New("leader election lost")
	default:
		return nil
	}
}
