package auth

import (
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
)

// The public events of the auth module.
const (
	EventUserRegistered  = "user.registered"
	EventUserVerified    = "user.verified"
	EventPasswordChanged = "user.password_changed"
)

// UserEvent is the payload of every auth event. It carries no email address:
// events reach webhooks.
type UserEvent struct {
	UserID   uuid.UUID `json:"user_id"`
	Username string    `json:"username"`
	At       time.Time `json:"at"`
}

func eventTypes() []app.EventType {
	ex := UserEvent{UserID: uuid.MustParse("0192f0c1-7a3b-7cde-8f00-1234567890ab"), Username: "ada", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return []app.EventType{
		{Type: EventUserRegistered, Description: "an account was created (its email is not verified yet)", Example: ex},
		{Type: EventUserVerified, Description: "an account's email address was verified", Example: ex},
		{Type: EventPasswordChanged, Description: "an account's password was reset; its sessions were ended", Example: ex},
	}
}
