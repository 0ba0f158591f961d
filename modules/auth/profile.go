package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/httpx"
)

// ProfileInput holds the profile fields; absent fields stay as they are.
// Only these can be changed this way: role, email verification and bans
// have their own routes.
type ProfileInput struct {
	DisplayName *string   `json:"display_name"`
	Bio         *string   `json:"bio"`
	AvatarURL   *string   `json:"avatar_url"`
	Location    *string   `json:"location"`
	Links       *[]string `json:"links"`
}

// visible returns a user anyone may see: banned accounts are not found.
func (s *Service) visible(ctx context.Context, u *User, err error) (*User, error) {
	if errors.Is(err, errNotFound) || (u != nil && u.BannedAt != nil) {
		return nil, httpx.NotFound("user not found")
	}
	return u, err
}

// Profile returns a public profile by id.
func (s *Service) Profile(ctx context.Context, id uuid.UUID) (*User, error) {
	u, err := s.store.userByID(ctx, id)
	return s.visible(ctx, u, err)
}

// ProfileByUsername returns a public profile by username.
func (s *Service) ProfileByUsername(ctx context.Context, username string) (*User, error) {
	if !validUsername(username) {
		return nil, httpx.NotFound("user not found")
	}
	u, err := s.store.userByUsername(ctx, username)
	return s.visible(ctx, u, err)
}

// UpdateProfile changes the profile fields of id, for its owner or an admin.
// A change of what other modules show next to the account's content
// (display_name, avatar_url) publishes user.updated in the same transaction.
func (s *Service) UpdateProfile(ctx context.Context, p *authn.Principal, id uuid.UUID, in ProfileInput) (*User, error) {
	var saved *User
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		// Locked: two partial updates at once must not undo each other.
		u, err := s.store.userBy(ctx, tx, "id = $1 FOR UPDATE", id)
		if errors.Is(err, errNotFound) || (err == nil && u.BannedAt != nil && !p.IsAdmin()) {
			return httpx.NotFound("user not found")
		}
		if err != nil {
			return err
		}
		if err := authn.RequireOwnerOrAdmin(p, id); err != nil {
			return err
		}
		next := profile{DisplayName: u.DisplayName, Bio: u.Bio, AvatarURL: u.AvatarURL, Location: u.Location, Links: u.Links}
		if err := applyProfile(&next, in); err != nil {
			return err
		}
		if saved, err = s.store.saveProfile(ctx, tx, id, next); err != nil {
			return err
		}
		if !publicChange(u, saved) {
			return nil
		}
		if _, err := s.pub.Publish(ctx, tx, EventUserUpdated, event(saved), id); err != nil {
			return fmt.Errorf("publish %s of %s: %w", EventUserUpdated, id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return saved, nil
}

// publicChange reports whether what other modules show of an account (its
// authn.Profile) differs between before and after.
func publicChange(before, after *User) bool {
	return before.Username != after.Username || before.DisplayName != after.DisplayName || before.AvatarURL != after.AvatarURL
}

// Profiles implements authn.Profiles: the public profiles of those of ids
// that name a live account. Banned accounts are left out, as GET /users/:id
// does not find them.
func (s *Service) Profiles(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]authn.Profile, error) {
	if len(ids) > authn.MaxProfiles {
		return nil, fmt.Errorf("profiles: %d ids asked, at most %d", len(ids), authn.MaxProfiles)
	}
	list, err := s.store.profiles(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]authn.Profile, len(list))
	for _, p := range list {
		out[p.ID] = authn.Profile{ID: p.ID, Username: p.Username, DisplayName: p.DisplayName, AvatarURL: p.AvatarURL, UpdatedAt: p.UpdatedAt.UTC()}
	}
	return out, nil
}

// applyProfile checks the given fields and copies them into p; it refuses
// them all, with one detail per field, if one is wrong.
func applyProfile(p *profile, in ProfileInput) error {
	var v httpx.Checker
	text := func(field string, given *string, dst *string, max int, k textKind) {
		if given == nil {
			return
		}
		*dst = *given
		if runeLen(*given) > max {
			v.Add(field, fmt.Sprintf("must be at most %d characters", max))
		} else if problem := textProblem(*given, k); problem != "" {
			v.Add(field, problem)
		}
	}
	text("display_name", in.DisplayName, &p.DisplayName, 100, nameText)
	text("bio", in.Bio, &p.Bio, 2000, proseText)
	text("location", in.Location, &p.Location, 100, nameText)
	if in.AvatarURL != nil {
		p.AvatarURL = *in.AvatarURL
		if p.AvatarURL != "" {
			if problem := webURLProblem(p.AvatarURL, urlRules{httpsOnly: true}); problem != "" {
				v.Add("avatar_url", problem)
			}
		}
	}
	if in.Links != nil {
		p.Links = stringList(*in.Links)
		if problem := linksProblem(p.Links); problem != "" {
			v.Add("links", problem)
		}
	}
	return v.Err()
}

// linksProblem says what is wrong with the first bad link, "" when none is.
func linksProblem(links []string) string {
	if len(links) > 10 {
		return "at most 10 links"
	}
	for i, l := range links {
		if problem := webURLProblem(l, urlRules{}); problem != "" {
			return fmt.Sprintf("link %d %s", i+1, problem)
		}
	}
	return ""
}

// Completion is how complete a profile is.
type Completion struct {
	Percentage int      `json:"percentage"`
	Missing    []string `json:"missing"`
}

// ProfileCompletion tells the owner which profile fields are still empty.
func (s *Service) ProfileCompletion(ctx context.Context, p *authn.Principal, id uuid.UUID) (*Completion, error) {
	u, err := s.store.userByID(ctx, id)
	if _, err := s.visible(ctx, u, err); err != nil {
		return nil, err
	}
	if p.UserID != id {
		return nil, httpx.Forbidden("forbidden", "only the owner sees the profile completion")
	}
	fields := []struct {
		name string
		set  bool
	}{
		{"display_name", u.DisplayName != ""},
		{"bio", u.Bio != ""},
		{"avatar_url", u.AvatarURL != ""},
		{"location", u.Location != ""},
		{"links", len(u.Links) > 0},
		{"email_verified", u.EmailVerifiedAt != nil},
	}
	c := &Completion{Missing: []string{}}
	done := 0
	for _, f := range fields {
		if f.set {
			done++
		} else {
			c.Missing = append(c.Missing, f.name)
		}
	}
	c.Percentage = done * 100 / len(fields)
	return c, nil
}
