package tracks

import "github.com/veza/veza/app"

// registerPlaylists adds the playlist routes.
func registerPlaylists(r *app.Registrar, svc *Service) {}
