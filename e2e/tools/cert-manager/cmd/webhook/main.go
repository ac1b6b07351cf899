// Command webhook is cert-manager's admission (validation, mutation) webhook (image
// quay.io/jetstack/cert-manager-webhook): the flags of pkg/webhook/options, the --config file, and the server
// that internal/webhook assembles with cert-manager's admission plugins.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cert-manager/cert-manager/internal/apis/config/webhook/validation"
	cmwebhook "github.com/cert-manager/cert-manager/internal/webhook"
	_ "github.com/cert-manager/cert-manager/internal/webhook/feature" // registers the webhook's feature gates
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"
	utilfeature "github.com/cert-manager/cert-manager/pkg/util/feature"
	webhookconfigfile "github.com/cert-manager/cert-manager/pkg/webhook/configfile"
	"github.com/cert-manager/cert-manager/pkg/webhook/options"

	"github.com/cert-manager/cert-manager/kvcloud-binaries/internal/cmdutil"
)

const component = "webhook"

func main() { cmdutil.Main(component, newCommand) }

func newCommand(ctx context.Context) *cobra.Command {
	flags := options.NewWebhookFlags()
	cfg, err := options.NewWebhookConfiguration()
	if err != nil {
		logf.FromContext(ctx).Error(err, "failed to create the default webhook configuration")
		os.Exit(1)
	}
	cmd := &cobra.Command{
		Use:           component,
		Short:         "cert-manager webhook, built by kvcloud from cert-manager's library " + cmdutil.VersionLine(),
		Long:          "Serves admission and conversion webhooks for cert-manager's API.",
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
			file := webhookconfigfile.New()
			if err := cmdutil.ApplyConfigFile(cmd, flags.Config, file, func() { file.Config.DeepCopyInto(cfg) }); err != nil {
				return err
			}
			if err := setGates(); err != nil {
				return err
			}
			if errs := validation.ValidateWebhookConfiguration(cfg, nil); len(errs) > 0 {
				return fmt.Errorf("error validating flags: %w", errs.ToAggregate())
			}
			return logf.ValidateAndApply(&cfg.Logging)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := logf.FromContext(cmd.Context())
			log.Info("starting cert-manager webhook", "version", util.AppVersion, "git_commit", util.AppGitCommit)
			srv, err := cmwebhook.NewCertManagerWebhookServer(log, *cfg)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context())
		},
	}
	flags.AddFlags(cmd.Flags())
	options.AddConfigFlags(cmd.Flags(), cfg)
	return cmd
}
