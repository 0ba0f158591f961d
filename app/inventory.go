package app

import "sort"

// Inventory tells what each enabled module of this process contributed,
// as names rather than handlers: for views that describe the deployment
// (the admin module's GET /admin/modules). Any module may take
// *app.Inventory, as it may take *app.Plan; read it from handlers, jobs
// or loops, not from Register: contributions are still being registered
// then.
type Inventory struct{ reg *registry }

// ModuleContributions lists what one module contributed, each list sorted.
type ModuleContributions struct {
	// Routes are "METHOD /path", the path as mounted ("/api/v1/...").
	Routes []string
	// Jobs are the task types it handles.
	Jobs []string
	// Schedules are "<spec> <task type>".
	Schedules []string
	// Subscriptions are the event types it subscribes to.
	Subscriptions []string
	// Loops are its background loops.
	Loops []string
	// Commands are its CLI commands ("user create").
	Commands []string
}

// Module returns what module name contributed: empty lists (never nil)
// for a module that is disabled or contributes nothing.
func (i *Inventory) Module(name string) ModuleContributions {
	c := i.reg.contributions()
	out := ModuleContributions{Routes: []string{}, Jobs: []string{}, Schedules: []string{}, Subscriptions: []string{},
		Loops: []string{}, Commands: []string{}}
	for _, r := range c.Routes {
		if r.Module == name {
			out.Routes = append(out.Routes, r.Method+" "+r.Path)
		}
	}
	for _, j := range c.Jobs {
		if j.Module == name {
			out.Jobs = append(out.Jobs, j.Type)
		}
	}
	for _, s := range c.Schedules {
		if s.Module == name {
			out.Schedules = append(out.Schedules, s.Spec+" "+s.TaskType)
		}
	}
	for _, s := range c.Subscriptions {
		if s.Module == name {
			out.Subscriptions = append(out.Subscriptions, s.EventType)
		}
	}
	for _, b := range c.Backgrounds {
		if b.Module == name {
			out.Loops = append(out.Loops, b.Name)
		}
	}
	for _, cmd := range c.Commands {
		if cmd.Module == name {
			out.Commands = append(out.Commands, cmd.Name)
		}
	}
	for _, l := range [][]string{out.Routes, out.Jobs, out.Schedules, out.Subscriptions, out.Loops, out.Commands} {
		sort.Strings(l)
	}
	return out
}
