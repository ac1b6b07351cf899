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
		Use:   component,
		Short: "Automated TLS controller for Kubernetes " + cmdutil.VersionLine(),
		Long: `
cert-manager is a Kubernetes addon to automate the management and issuance of
TLS certificates from various issuing sources.

It will ensure certificates are valid and up to date periodically, and attempt
to renew certificates at an appropriate time before expiry.`,
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
	fs.StringVar(&configFile, "config", "", "Path to a file containing a ControllerConfiguration object used to configure the controller")
	addFlags(fs, cfg)
	return cmd
}

// addFlags binds cert-manager's controller flags (upstream's names) to the configuration; everything else in
// ControllerConfiguration (for instance pemSizeLimitsConfig, gatewayAPI.extraProtocols) is set via --config.
func addFlags(fs *pflag.FlagSet, c *config.ControllerConfiguration) {
	fs.StringVar(&c.APIServerHost, "master", c.APIServerHost, "Optional apiserver host address to connect to. If not specified, autoconfiguration will be attempted.")
	fs.StringVar(&c.KubeConfig, "kubeconfig", c.KubeConfig, "Paths to a kubeconfig. Only required if out-of-cluster.")
	fs.Float32Var(&c.KubernetesAPIQPS, "kube-api-qps", c.KubernetesAPIQPS, "indicates the maximum queries-per-second requests to the Kubernetes apiserver")
	fs.IntVar(&c.KubernetesAPIBurst, "kube-api-burst", c.KubernetesAPIBurst, "the maximum burst queries-per-second of requests sent to the Kubernetes apiserver")
	fs.StringVar(&c.ClusterResourceNamespace, "cluster-resource-namespace", c.ClusterResourceNamespace, "Namespace to store resources owned by cluster scoped resources such as ClusterIssuer in. This must be specified if ClusterIssuers are enabled.")
	fs.StringVar(&c.Namespace, "namespace", c.Namespace, "If set, this limits the scope of cert-manager to a single namespace and ClusterIssuers are disabled. If not specified, all namespaces will be watched")

	fs.BoolVar(&c.LeaderElectionConfig.Enabled, "leader-elect", c.LeaderElectionConfig.Enabled, "If true, cert-manager will perform leader election between instances to ensure no more than one instance of cert-manager operates at a time")
	fs.StringVar(&c.LeaderElectionConfig.Namespace, "leader-election-namespace", c.LeaderElectionConfig.Namespace, "Namespace used to perform leader election. Only used if leader election is enabled")
	fs.DurationVar(&c.LeaderElectionConfig.LeaseDuration, "leader-election-lease-duration", c.LeaderElectionConfig.LeaseDuration, "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot.")
	fs.DurationVar(&c.LeaderElectionConfig.RenewDeadline, "leader-election-renew-deadline", c.LeaderElectionConfig.RenewDeadline, "The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than or equal to the lease duration.")
	fs.DurationVar(&c.LeaderElectionConfig.RetryPeriod, "leader-election-retry-period", c.LeaderElectionConfig.RetryPeriod, "The duration the clients should wait between attempting acquisition and renewal of a leadership.")

	fs.StringSliceVar(&c.Controllers, "controllers", c.Controllers, "A list of controllers to enable. '--controllers=*' enables all on-by-default controllers, '--controllers=foo' enables just the controller named 'foo', '--controllers=*,-foo' disables the controller named 'foo'.\nAll controllers: "+strings.Join(defaults.AllControllers, ", "))

	fs.StringVar(&c.ACMEHTTP01Config.SolverImage, "acme-http01-solver-image", c.ACMEHTTP01Config.SolverImage, "The docker image to use to solve ACME HTTP01 challenges.")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceRequestCPU, "acme-http01-solver-resource-request-cpu", c.ACMEHTTP01Config.SolverResourceRequestCPU, "Defines the resource request CPU size when spawning new ACME HTTP01 challenge solver pods.")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceRequestMemory, "acme-http01-solver-resource-request-memory", c.ACMEHTTP01Config.SolverResourceRequestMemory, "Defines the resource request Memory size when spawning new ACME HTTP01 challenge solver pods.")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceLimitsCPU, "acme-http01-solver-resource-limits-cpu", c.ACMEHTTP01Config.SolverResourceLimitsCPU, "Defines the resource limits CPU size when spawning new ACME HTTP01 challenge solver pods.")
	fs.StringVar(&c.ACMEHTTP01Config.SolverResourceLimitsMemory, "acme-http01-solver-resource-limits-memory", c.ACMEHTTP01Config.SolverResourceLimitsMemory, "Defines the resource limits Memory size when spawning new ACME HTTP01 challenge solver pods.")
	fs.BoolVar(&c.ACMEHTTP01Config.SolverRunAsNonRoot, "acme-http01-solver-run-as-non-root", c.ACMEHTTP01Config.SolverRunAsNonRoot, "Defines the ability to run the http01 solver as root for troubleshooting issues")
	fs.StringVar(&c.ACMEHTTP01Config.SolverRuntimeClassName, "acme-http01-solver-runtime-class-name", c.ACMEHTTP01Config.SolverRuntimeClassName, "The runtimeClassName of ACME HTTP01 challenge solver pods.")
	fs.StringSliceVar(&c.ACMEHTTP01Config.SolverNameservers, "acme-http01-solver-nameservers", c.ACMEHTTP01Config.SolverNameservers, "A list of comma separated dns server endpoints used for ACME HTTP01 check requests, host and port each, for example 8.8.8.8:53,8.8.4.4:53")
	fs.Var(cliflag.NewMapStringString(&c.ACMEHTTP01Config.SolverExtraLabels), "acme-http01-solver-extra-labels", "Extra labels (key=value, repeatable) for the resources created to solve ACME HTTP01 challenges.")

	fs.BoolVar(&c.ClusterIssuerAmbientCredentials, "cluster-issuer-ambient-credentials", c.ClusterIssuerAmbientCredentials, "Whether a cluster-issuer may make use of ambient credentials for issuers (credentials drawn from the environment, metadata services, or local files not configured in the ClusterIssuer).")
	fs.BoolVar(&c.IssuerAmbientCredentials, "issuer-ambient-credentials", c.IssuerAmbientCredentials, "Whether an issuer may make use of ambient credentials (credentials drawn from the environment, metadata services, or local files not configured in the Issuer).")

	fs.StringSliceVar(&c.IngressShimConfig.DefaultAutoCertificateAnnotations, "auto-certificate-annotations", c.IngressShimConfig.DefaultAutoCertificateAnnotations, "The annotation consumed by the ingress-shim controller to indicate an ingress is requesting a certificate")
	fs.StringSliceVar(&c.IngressShimConfig.ExtraCertificateAnnotations, "extra-certificate-annotations", c.IngressShimConfig.ExtraCertificateAnnotations, "Extra annotation to be added by the ingress-shim controller to certificate object")
	fs.StringVar(&c.IngressShimConfig.DefaultIssuerName, "default-issuer-name", c.IngressShimConfig.DefaultIssuerName, "Name of the Issuer to use when the tls is requested but issuer name is not specified on the ingress resource.")
	fs.StringVar(&c.IngressShimConfig.DefaultIssuerKind, "default-issuer-kind", c.IngressShimConfig.DefaultIssuerKind, "Kind of the Issuer to use when the tls is requested but issuer kind is not specified on the ingress resource.")
	fs.StringVar(&c.IngressShimConfig.DefaultIssuerGroup, "default-issuer-group", c.IngressShimConfig.DefaultIssuerGroup, "Group of the Issuer to use when the tls is requested but issuer group is not specified on the ingress resource.")

	fs.StringSliceVar(&c.ACMEDNS01Config.RecursiveNameservers, "dns01-recursive-nameservers", c.ACMEDNS01Config.RecursiveNameservers, "A list of comma separated dns server endpoints used for DNS01 and DNS-over-HTTPS (DoH) check requests: <ip address>:<port> or https://<DoH RFC 8484 server address>.")
	fs.BoolVar(&c.ACMEDNS01Config.RecursiveNameserversOnly, "dns01-recursive-nameservers-only", c.ACMEDNS01Config.RecursiveNameserversOnly, "When true, cert-manager will only ever query the configured DNS resolvers to perform the ACME DNS01 self check.")
	fs.DurationVar(&c.ACMEDNS01Config.CheckRetryPeriod, "dns01-check-retry-period", c.ACMEDNS01Config.CheckRetryPeriod, "The duration the controller should wait between DNS01 and HTTP01 challenge propagation checks, for example 180s or 1h")

	fs.BoolVar(&c.EnableCertificateOwnerRef, "enable-certificate-owner-ref", c.EnableCertificateOwnerRef, "Whether to set the certificate resource as an owner of secret where the tls certificate is stored.")
	fs.BoolVar(&c.GatewayAPIConfig.Enabled, "enable-gateway-api", c.GatewayAPIConfig.Enabled, "Whether gateway API integration is enabled within cert-manager. The ExperimentalGatewayAPISupport feature gate must also be enabled.")
	fs.BoolVar(&c.GatewayAPIConfig.EnableListenerSet, "enable-gateway-api-listenerset", c.GatewayAPIConfig.EnableListenerSet, "Whether ListenerSet support of the gateway API integration is enabled. The ListenerSets feature gate must also be enabled.")
	fs.StringSliceVar(&c.CopiedAnnotationPrefixes, "copied-annotation-prefixes", c.CopiedAnnotationPrefixes, "Annotation key prefixes copied from Certificate to CertificateRequest and Order (and from CertificateSigningRequest to Order); a prefix starting with '-' is not copied. Example: '*,-kubectl.kubernetes.io/'.")
	fs.Var(cliflag.NewMapStringBool(&c.FeatureGates), "feature-gates", "A set of key=value pairs that describe feature gates for alpha/experimental features. Options are:\n"+strings.Join(utilfeature.DefaultFeatureGate.KnownFeatures(), "\n"))

	fs.IntVar(&c.NumberOfConcurrentWorkers, "concurrent-workers", c.NumberOfConcurrentWorkers, "The number of concurrent workers for each controller.")
	fs.IntVar(&c.MaxConcurrentChallenges, "max-concurrent-challenges", c.MaxConcurrentChallenges, "The maximum number of challenges that can be scheduled as 'processing' at once.")
	fs.DurationVar(&c.CertificateRequestMinimumBackoffDuration, "certificate-request-minimum-backoff-duration", c.CertificateRequestMinimumBackoffDuration, "The initial retry backoff of a failed CertificateRequest; it grows exponentially up to the maximum.")
	fs.DurationVar(&c.CertificateRequestMaximumBackoffDuration, "certificate-request-maximum-backoff-duration", c.CertificateRequestMaximumBackoffDuration, "The cap of the exponential retry backoff of failed CertificateRequests.")

	fs.StringVar(&c.MetricsListenAddress, "metrics-listen-address", c.MetricsListenAddress, "The host and port that the metrics endpoint should listen on.")
	fs.BoolVar(&c.EnablePprof, "enable-profiling", c.EnablePprof, "Enable profiling for controller.")
	fs.StringVar(&c.PprofAddress, "profiler-address", c.PprofAddress, "The host and port that Go profiler should listen on, i.e localhost:6060. Profiler will be served at /debug/pprof.")
	addTLSFlags(fs, "metrics-", &c.MetricsTLSConfig)

	// Hidden, as upstream: the /livez server used by the Deployment's liveness probe.
	fs.StringVar(&c.HealthzListenAddress, "internal-healthz-listen-address", c.HealthzListenAddress, "The host and port that the healthz server (/livez) should listen on.")
	fs.DurationVar(&c.LeaderElectionConfig.HealthzTimeout, "internal-healthz-leader-election-timeout", c.LeaderElectionConfig.HealthzTimeout, "Leader election healthz checks within this timeout period after the lease expires will still return healthy")
	_ = fs.MarkHidden("internal-healthz-listen-address")
	_ = fs.MarkHidden("internal-healthz-leader-election-timeout")

	logf.AddFlags(&c.Logging, fs)
}

// addTLSFlags binds the serving TLS flags (files, or a dynamic CA in a Secret) of one server, named prefix+...
func addTLSFlags(fs *pflag.FlagSet, prefix string, t *shared.TLSConfig) {
	fs.StringVar(&t.Filesystem.CertFile, prefix+"tls-cert-file", t.Filesystem.CertFile, "path to the file containing the TLS certificate to serve with")
	fs.StringVar(&t.Filesystem.KeyFile, prefix+"tls-private-key-file", t.Filesystem.KeyFile, "path to the file containing the TLS private key to serve with")
	fs.DurationVar(&t.Dynamic.LeafDuration, prefix+"dynamic-serving-leaf-duration", t.Dynamic.LeafDuration, "leaf duration of serving certificates")
	fs.StringVar(&t.Dynamic.SecretNamespace, prefix+"dynamic-serving-ca-secret-namespace", t.Dynamic.SecretNamespace, "namespace of the secret used to store the CA that signs serving certificates")
	fs.StringVar(&t.Dynamic.SecretName, prefix+"dynamic-serving-ca-secret-name", t.Dynamic.SecretName, "name of the secret used to store the CA that signs serving certificates")
	fs.StringSliceVar(&t.Dynamic.DNSNames, prefix+"dynamic-serving-dns-names", t.Dynamic.DNSNames, "DNS names that should be present on certificates generated by the dynamic serving CA")
	fs.StringSliceVar(&t.CipherSuites, prefix+"tls-cipher-suites", t.CipherSuites, "Comma-separated list of cipher suites for the server. Possible values: "+strings.Join(cliflag.TLSCipherPossibleValues(), ","))
	fs.StringVar(&t.MinTLSVersion, prefix+"tls-min-version", t.MinTLSVersion, "Minimum TLS version supported. Possible values: "+strings.Join(cliflag.TLSPossibleVersions(), ", "))
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
