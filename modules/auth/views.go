package auth

import (
	"time"

	"github.com/google/uuid"
)

// PublicUser is what anyone may see of an account.
type PublicUser struct {
	ID          uuid.UUID `json:"id"`
	Username    string    `json:"username"`
	Role        string    `json:"role"`
	DisplayName string    `json:"display_name"`
	Bio         string    `json:"bio"`
	AvatarURL   string    `json:"avatar_url"`
	Location    string    `json:"location"`
	Links       []string  `json:"links"`
	CreatedAt   time.Time `json:"created_at"`
}

// ProfileView is a public profile as GET /users/:id shows it: with the
// counts of the social module's follows, which settle within seconds of a
// follow (0 without the social module).
type ProfileView struct {
	PublicUser
	FollowersCount int64 `json:"followers_count"`
	FollowingCount int64 `json:"following_count"`
}

// PrivateUser is what the account's owner sees.
type PrivateUser struct {
	PublicUser
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func publicView(u *User) PublicUser {
	links := []string(u.Links)
	if links == nil {
		links = []string{}
	}
	return PublicUser{ID: u.ID, Username: u.Username, Role: u.Role, DisplayName: u.DisplayName, Bio: u.Bio,
		AvatarURL: u.AvatarURL, Location: u.Location, Links: links, CreatedAt: u.CreatedAt.UTC()}
}

func privateView(u *User) PrivateUser {
	return PrivateUser{PublicUser: publicView(u), Email: u.Email, EmailVerified: u.EmailVerifiedAt != nil, UpdatedAt: u.UpdatedAt.UTC()}
}

// SessionView is one of the caller's sessions.
type SessionView struct {
	ID         uuid.UUID `json:"id"`
	Device     string    `json:"device"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

func sessionView(s Session, current uuid.UUID) SessionView {
	ip := ""
	if s.IP != nil {
		ip = *s.IP
	}
	return SessionView{ID: s.ID, Device: s.Device, IP: ip, UserAgent: s.UserAgent, CreatedAt: s.CreatedAt.UTC(),
		LastUsedAt: s.LastUsedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC(), Current: s.ID == current}
}
