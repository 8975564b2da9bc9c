package main

import (
	"github.com/reticle-mesh/reticle/pkg/app"
	"github.com/reticle-mesh/reticle/pkg/config"
)

// budgetOptions turns the storage budget flags into the app's options; an --inbound-budget-mb of 0
// takes the default, 1 GiB or a tenth of the data dir's free space now, whichever is smaller.
func budgetOptions(cfg config.Config) app.BudgetOptions {
	total := int64(cfg.InboundBudgetMB) << 20
	if total == 0 {
		total = app.DefaultInboundBudget(cfg.DataDir)
	}
	return app.BudgetOptions{
		TotalBytes:    total,
		PeerHourBytes: int64(cfg.PeerBudgetMBHour) << 20,
		PeerDayBytes:  int64(cfg.PeerBudgetMBDay) << 20,
		MinFreeBytes:  int64(cfg.MinFreeMB) << 20,
	}
}
