// Package authapi is what the auth module offers, besides the interfaces of
// platform/authn, to the modules that listen to it: the names and payload of
// its public events. A module never imports package auth; it subscribes to
// these events, or asks the authn interfaces auth exports.
//
//	r.Subscribe(authapi.EventUserUpdated, svc.onUserUpdated)
package authapi

import (
	"time"

	"github.com/google/uuid"
)

// The public events of the auth module, each with a UserEvent payload and
// the account as audience.
const (
	// EventUserRegistered: an account was created (its email is not
	// verified yet).
	EventUserRegistered = "user.registered"
	// EventUserVerified: an account's email address was verified.
	EventUserVerified = "user.verified"
	// EventPasswordChanged: an account's password was reset.
	EventPasswordChanged = "user.password_changed"
	// EventUserUpdated: an account's public profile (display name, avatar)
	// changed.
	EventUserUpdated = "user.updated"
)

// UserEvent is the payload of every auth event: the account's public profile
// as of the change, so that another module can keep a copy of what it shows
// (a track's owner) from the events alone. It carries no email address:
// events reach webhooks.
type UserEvent struct {
	UserID      uuid.UUID `json:"user_id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name" doc:"empty when not set"`
	AvatarURL   string    `json:"avatar_url" doc:"an https URL, empty when not set"`
	// At is the account's updated_at as of the change. It increases with
	// every change of one account, so a copy kept from events ignores an
	// event whose At is not after the copy's: events may arrive out of order.
	At time.Time `json:"at"`
}
