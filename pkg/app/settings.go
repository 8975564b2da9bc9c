package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reticle-mesh/reticle/pkg/store"
)

// ErrInvalidSetting is a setting value out of its range; the message names the setting.
var ErrInvalidSetting = errors.New("invalid setting")

// Limits of the owner's settings.
const (
	MaxDisplayNameBytes = 128
	// MinAnnounceInterval and MaxAnnounceInterval are the bounds --announce-interval has too; 0 turns
	// the interval off.
	MinAnnounceInterval = time.Minute
	MaxAnnounceInterval = 7 * 24 * time.Hour
	// MaxStampCost bounds the proof of work the node asks of senders; above it most phones and
	// Raspberry Pis would take minutes per message.
	MaxStampCost = 32
)

const (
	settingDisplayName      = "app.display_name"
	settingAnnounceInterval = "app.announce_interval_s"
	settingStampCost        = "app.stamp_cost"
	settingStrangerFiles    = "app.stranger_attachments"
	settingRefuseStrangers  = "app.refuse_strangers"
	settingPropagateOnFail  = "app.propagate_on_failure"
)

// The stranger_attachments values: a non-contact's attachments are dropped (the message is kept and
// says what was held back) or stored.
const (
	StrangerAttachmentsHold  = "hold"
	StrangerAttachmentsAllow = "allow"
)

// Settings are the owner's node settings, saved in the store and applied at once. A saved value wins
// over the flag or environment value the node started with (shown as the default).
type Settings struct {
	// DisplayName is announced with the delivery destination.
	DisplayName string `json:"display_name"`
	// AnnounceIntervalMinutes is how often the node announces besides at start and on interface-up
	// (0: only those).
	AnnounceIntervalMinutes int `json:"announce_interval_minutes"`
	// StampCost is the proof of work inbound messages must carry (0: none); announced to senders.
	StampCost int `json:"stamp_cost"`
	// StrangerAttachments is "hold" (attachments from non-contacts are not stored) or "allow".
	StrangerAttachments string `json:"stranger_attachments"`
	// RefuseStrangers drops every message from a non-contact, unproven.
	RefuseStrangers bool `json:"refuse_strangers"`
	// PropagateOnFailure sends a direct or opportunistic message that ran out of attempts through the
	// propagation node, when one is chosen, instead of failing it.
	PropagateOnFailure bool `json:"propagate_on_failure"`
}

// SettingsPatch changes the settings that are set; DisplayName "" goes back to the startup name.
type SettingsPatch struct {
	DisplayName             *string `json:"display_name"`
	AnnounceIntervalMinutes *int    `json:"announce_interval_minutes"`
	StampCost               *int    `json:"stamp_cost"`
	StrangerAttachments     *string `json:"stranger_attachments"`
	RefuseStrangers         *bool   `json:"refuse_strangers"`
	PropagateOnFailure      *bool   `json:"propagate_on_failure"`
}

// SettingsView is the current settings and the startup values a reset goes back to.
type SettingsView struct {
	Settings
	Defaults Settings `json:"defaults"`
}

func (a *App) startupSettings() Settings {
	return Settings{
		DisplayName:             a.opts.DisplayName,
		AnnounceIntervalMinutes: int(a.opts.AnnounceInterval / time.Minute),
		StampCost:               a.opts.StampCost,
		StrangerAttachments:     strangerFiles(a.opts.StrangerAttachments != StrangerAttachmentsAllow),
		RefuseStrangers:         a.opts.RefuseStrangers,
		PropagateOnFailure:      !a.opts.NoPropagateOnFailure,
	}
}

func strangerFiles(hold bool) string {
	if hold {
		return StrangerAttachmentsHold
	}
	return StrangerAttachmentsAllow
}

// GetSettings returns the settings in force.
func (a *App) GetSettings() SettingsView {
	a.settingsMu.Lock()
	defer a.settingsMu.Unlock()
	return SettingsView{Settings: Settings{
		DisplayName:             a.r.DisplayName(),
		AnnounceIntervalMinutes: int(a.announceEvery / time.Minute),
		StampCost:               a.r.StampCost(),
		StrangerAttachments:     strangerFiles(a.holdStrangerFiles.Load()),
		RefuseStrangers:         a.refuseStrangers.Load(),
		PropagateOnFailure:      a.propagateOnFail.Load(),
	}, Defaults: a.startupSettings()}
}

// validate checks p and returns the store values it sets (key -> value; "" deletes the saved value).
func (p SettingsPatch) validate() (map[string]string, error) {
	out := map[string]string{}
	if p.DisplayName != nil {
		n := strings.TrimSpace(*p.DisplayName)
		switch {
		case !utf8.ValidString(n):
			return nil, fmt.Errorf("%w: display_name must be UTF-8 text", ErrInvalidSetting)
		case len(n) > MaxDisplayNameBytes:
			return nil, fmt.Errorf("%w: display_name must be at most %d bytes", ErrInvalidSetting, MaxDisplayNameBytes)
		case strings.ContainsFunc(n, isControlOrBidi):
			return nil, fmt.Errorf("%w: display_name must not contain control or bidi override characters", ErrInvalidSetting)
		}
		out[settingDisplayName] = n
	}
	if v := p.AnnounceIntervalMinutes; v != nil {
		d := time.Duration(*v) * time.Minute
		if *v < 0 || (d != 0 && (d < MinAnnounceInterval || d > MaxAnnounceInterval)) {
			return nil, fmt.Errorf("%w: announce_interval_minutes must be 0 (off) or %d to %d",
				ErrInvalidSetting, int(MinAnnounceInterval/time.Minute), int(MaxAnnounceInterval/time.Minute))
		}
		out[settingAnnounceInterval] = strconv.FormatInt(int64(d/time.Second), 10)
	}
	if v := p.StampCost; v != nil {
		if *v < 0 || *v > MaxStampCost {
			return nil, fmt.Errorf("%w: stamp_cost must be 0 (none) to %d", ErrInvalidSetting, MaxStampCost)
		}
		out[settingStampCost] = strconv.Itoa(*v)
	}
	if v := p.StrangerAttachments; v != nil {
		if *v != StrangerAttachmentsHold && *v != StrangerAttachmentsAllow {
			return nil, fmt.Errorf("%w: stranger_attachments must be %q or %q", ErrInvalidSetting, StrangerAttachmentsHold, StrangerAttachmentsAllow)
		}
		out[settingStrangerFiles] = *v
	}
	if v := p.RefuseStrangers; v != nil {
		out[settingRefuseStrangers] = strconv.FormatBool(*v)
	}
	if v := p.PropagateOnFailure; v != nil {
		out[settingPropagateOnFail] = strconv.FormatBool(*v)
	}
	return out, nil
}

func isControlOrBidi(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f
}

// UpdateSettings validates the patch (nothing changes when any field is bad), saves it and applies it
// live: a new name or stamp cost is announced at once, a new interval restarts the interval timer.
func (a *App) UpdateSettings(ctx context.Context, p SettingsPatch) (SettingsView, error) {
	vals, err := p.validate()
	if err != nil {
		return SettingsView{}, err
	}
	a.mu.Lock()
	ann := a.ann
	a.mu.Unlock()
	a.settingsMu.Lock()
	for k, v := range vals {
		if err := a.st.SetSetting(ctx, k, v); err != nil {
			a.settingsMu.Unlock()
			return SettingsView{}, fmt.Errorf("save settings: %w", err)
		}
	}
	if err := a.applySettingsLocked(ctx, ann); err != nil {
		a.settingsMu.Unlock()
		return SettingsView{}, err
	}
	a.settingsMu.Unlock()
	if _, ok := vals[settingDisplayName]; ok || vals[settingStampCost] != "" {
		a.announceAll("settings")
	}
	a.log.Info("settings saved", "changed", len(vals))
	return a.GetSettings(), nil
}

// applySettingsLocked puts the saved settings (or the startup values) into force, telling a running
// announcer (nil before Start) a new interval. settingsMu held.
func (a *App) applySettingsLocked(ctx context.Context, ann *announcer) error {
	def := a.startupSettings()
	name, err := a.savedSetting(ctx, settingDisplayName)
	if err != nil {
		return err
	}
	if name == "" {
		name = def.DisplayName
	}
	a.r.SetDisplayName(name)
	cost := def.StampCost
	if v, err := a.savedSetting(ctx, settingStampCost); err != nil {
		return err
	} else if v != "" {
		if cost, err = strconv.Atoi(v); err != nil || cost < 0 || cost > MaxStampCost {
			a.log.Warn("saved stamp cost ignored", "value", v)
			cost = def.StampCost
		}
	}
	a.r.SetStampCost(cost)
	hold := a.opts.StrangerAttachments != StrangerAttachmentsAllow
	if v, err := a.savedSetting(ctx, settingStrangerFiles); err != nil {
		return err
	} else if v != "" {
		hold = v != StrangerAttachmentsAllow
	}
	a.holdStrangerFiles.Store(hold)
	refuse := a.opts.RefuseStrangers
	if v, err := a.savedSetting(ctx, settingRefuseStrangers); err != nil {
		return err
	} else if v != "" {
		refuse = v == "true"
	}
	a.refuseStrangers.Store(refuse)
	propagate := !a.opts.NoPropagateOnFailure
	if v, err := a.savedSetting(ctx, settingPropagateOnFail); err != nil {
		return err
	} else if v != "" {
		propagate = v == "true"
	}
	a.propagateOnFail.Store(propagate)
	every := a.opts.AnnounceInterval
	if v, err := a.savedSetting(ctx, settingAnnounceInterval); err != nil {
		return err
	} else if v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s < 0 || time.Duration(s)*time.Second > MaxAnnounceInterval {
			a.log.Warn("saved announce interval ignored", "value", v)
		} else {
			every = time.Duration(s) * time.Second
		}
	}
	if every != a.announceEvery {
		a.announceEvery = every
		ann.setInterval(every)
	}
	return nil
}

func (a *App) savedSetting(ctx context.Context, key string) (string, error) {
	v, err := a.st.GetSetting(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("load settings: %w", err)
	}
	return v, nil
}
