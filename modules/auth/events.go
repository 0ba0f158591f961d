package auth

import (
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/auth/authapi"
)

// The public events of the auth module, declared in authapi for the modules
// that listen.
const (
	EventUserRegistered  = authapi.EventUserRegistered
	EventUserVerified    = authapi.EventUserVerified
	EventPasswordChanged = authapi.EventPasswordChanged
	EventUserUpdated     = authapi.EventUserUpdated
)

// UserEvent is the payload of every auth event.
type UserEvent = authapi.UserEvent

func eventTypes() []app.EventType {
	ex := UserEvent{UserID: uuid.MustParse("0192f0c1-7a3b-7cde-8f00-1234567890ab"), Username: "ada",
		DisplayName: "Ada Lovelace", AvatarURL: "https://cdn.example.com/ada.png", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return []app.EventType{
		{Type: EventUserRegistered, Description: "an account was created (its email is not verified yet); the payload holds its public profile", Example: ex},
		{Type: EventUserVerified, Description: "an account's email address was verified", Example: ex},
		{Type: EventPasswordChanged, Description: "an account's password was reset; its sessions were ended", Example: ex},
		{Type: EventUserUpdated, Description: "an account's public profile (display_name, avatar_url) changed; the payload holds the profile as of at, which increases with every change of the account", Example: ex},
	}
}

// event is the payload of an event about u, as u stands after the change:
// At is the row's updated_at, which orders the changes of one account.
func event(u *User) UserEvent {
	return UserEvent{UserID: u.ID, Username: u.Username, DisplayName: u.DisplayName, AvatarURL: u.AvatarURL, At: u.UpdatedAt.UTC()}
}
