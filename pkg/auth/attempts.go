package auth

import (
	"context"
	"fmt"
	"time"
)

// Attempt is one recorded login, setup or password-change attempt.
type Attempt struct {
	Time      time.Time
	IP        string
	UserAgent string
	Path      string
	Outcome   string
}

// Attempts returns up to limit recorded attempts, newest first (limit is clamped to 1..1000).
func (s *Service) Attempts(ctx context.Context, limit int) ([]Attempt, error) {
	limit = max(1, min(limit, 1000))
	s.rec.flush(ctx)
	rows, err := s.st.ListLoginAttempts(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	out := make([]Attempt, 0, len(rows))
	for _, r := range rows {
		out = append(out, Attempt{Time: r.At, IP: r.IP, UserAgent: r.UserAgent, Path: r.Path, Outcome: r.Outcome})
	}
	return out, nil
}
