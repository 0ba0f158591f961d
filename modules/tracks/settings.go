package tracks

import (
	"errors"
	"fmt"
	"time"

	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/config"
)

// Settings of the tracks module (modules.tracks.settings).
type Settings struct {
	// UploadRoles may upload tracks.
	UploadRoles []string `yaml:"upload_roles"`
	// MaxUploadMB caps an upload's size.
	MaxUploadMB int64 `yaml:"max_upload_mb"`
	// MaxConcurrentUploads bounds uploads in progress in this process.
	MaxConcurrentUploads int `yaml:"max_concurrent_uploads" env:"MAX_CONCURRENT_UPLOADS"`
	// MaxConcurrentUploadsPerUser bounds one user's uploads in progress in
	// this process, so that one account cannot hold every slot.
	MaxConcurrentUploadsPerUser int `yaml:"max_concurrent_uploads_per_user" env:"MAX_CONCURRENT_UPLOADS_PER_USER"`
	// UploadStallTimeout ends an upload whose body delivers nothing for that
	// long (408 upload_stalled); nothing of it is kept.
	UploadStallTimeout time.Duration `yaml:"upload_stall_timeout" env:"UPLOAD_STALL_TIMEOUT"`
	// ClamAVAddress is clamd's host:port; empty: no virus scan.
	ClamAVAddress string `yaml:"clamav_address" env:"CLAMAV_ADDRESS"`
	// ClamAVRequired refuses uploads while clamd is down; otherwise they are
	// accepted and marked unscanned.
	ClamAVRequired bool `yaml:"clamav_required" env:"CLAMAV_REQUIRED"`
	// InternalAPIKey authenticates the external stream server's callback.
	InternalAPIKey string `yaml:"internal_api_key" env:"STREAM_SERVER_INTERNAL_API_KEY"`
	// WaveformPoints is the number of peaks computed per track.
	WaveformPoints int `yaml:"waveform_points"`
	// PlayWindow counts a listener's plays of a track once per window.
	PlayWindow time.Duration `yaml:"play_window"`
	// MaxShareTTL bounds a share link's life (its expires_in), and is the
	// life of a link made without expires_in; 0: no bound, and links made
	// without expires_in never expire.
	MaxShareTTL time.Duration `yaml:"max_share_ttl"`
}

func defaultSettings() any {
	return &Settings{
		UploadRoles:                 []string{authn.RoleCreator, authn.RoleArtist, authn.RoleProducer, authn.RoleLabel, authn.RoleAdmin},
		MaxUploadMB:                 200,
		MaxConcurrentUploads:        10,
		MaxConcurrentUploadsPerUser: 2,
		UploadStallTimeout:          30 * time.Second,
		WaveformPoints:              1000,
		PlayWindow:                  30 * time.Minute,
		MaxShareTTL:                 365 * 24 * time.Hour,
	}
}

// Validate refuses settings that cannot work.
func (s *Settings) Validate(env config.Env) error {
	for _, r := range s.UploadRoles {
		known := false
		for _, x := range authn.Roles {
			known = known || r == x
		}
		if !known {
			return fmt.Errorf("upload_roles: %q is not a role", r)
		}
	}
	switch {
	case s.MaxUploadMB < 1 || s.MaxUploadMB > 10240:
		return errors.New("max_upload_mb must be between 1 and 10240")
	case s.MaxConcurrentUploads < 1:
		return errors.New("max_concurrent_uploads (MAX_CONCURRENT_UPLOADS) must be at least 1")
	case s.MaxConcurrentUploadsPerUser < 1:
		return errors.New("max_concurrent_uploads_per_user (MAX_CONCURRENT_UPLOADS_PER_USER) must be at least 1")
	case s.UploadStallTimeout < 100*time.Millisecond || s.UploadStallTimeout > uploadTimeout/2:
		return fmt.Errorf("upload_stall_timeout (UPLOAD_STALL_TIMEOUT) must be between 100ms and %s", uploadTimeout/2)
	case s.WaveformPoints < 10 || s.WaveformPoints > 10000:
		return errors.New("waveform_points must be between 10 and 10000")
	case s.PlayWindow < time.Minute:
		return errors.New("play_window must be at least 1m")
	case s.MaxShareTTL != 0 && (s.MaxShareTTL < time.Second || s.MaxShareTTL > maxShareSeconds*time.Second):
		return errors.New("max_share_ttl must be 0 (no bound) or between 1s and 100 years")
	case s.ClamAVRequired && s.ClamAVAddress == "":
		return errors.New("clamav_required (CLAMAV_REQUIRED) needs clamav_address (CLAMAV_ADDRESS)")
	case s.InternalAPIKey != "" && len(s.InternalAPIKey) < 24:
		return errors.New("internal_api_key (STREAM_SERVER_INTERNAL_API_KEY) must be at least 24 characters")
	}
	return nil
}

func (s *Settings) maxUpload() int64 { return s.MaxUploadMB << 20 }
