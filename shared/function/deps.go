package function

import (
	"context"
	"os"

	"github.com/acme/billing/shared/config"
	"github.com/acme/billing/shared/events/eventbridge"
	"github.com/acme/billing/shared/notify/ses"
	"github.com/acme/billing/shared/web"
)

// jobDeps builds every dependency of the function named name in AWS mode:
// every part, with events going to EventBridge and emails to SES.
func jobDeps(ctx context.Context, cfg config.Config, name string) (web.Deps, error) {
	p, err := cfg.Parts(ctx, cfg.Logger(os.Stdout).With("function", name), nil)
	if err != nil {
		return web.Deps{}, err
	}
	aws, err := cfg.AWS(ctx)
	if err != nil {
		return web.Deps{}, err
	}
	if err := p.WithAll(eventbridge.New(aws, cfg.EventBus), ses.FromConfig(aws, cfg.EmailFrom)); err != nil {
		return web.Deps{}, err
	}
	return p.Deps, nil
}
