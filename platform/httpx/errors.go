// Package httpx is the platform's HTTP layer: the Fiber server, the middleware
// every request goes through, the one JSON envelope for success and errors,
// and helpers modules use to decode, validate and answer.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"
)

// FieldError is one entry of an error's details: which input field is wrong
// and why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an HTTP error with the code and message clients see. Cause is
// logged for 5xx answers and never shown.
type Error struct {
	Status     int
	Code       string
	Message    string
	Details    []FieldError
	RetryAfter time.Duration
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// NewError builds an error answer.
func NewError(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// BadRequest is 400: malformed JSON or a bad parameter.
func BadRequest(code, message string) *Error { return NewError(http.StatusBadRequest, code, message) }

// Unauthorized is 401: no token or a bad one.
func Unauthorized(code, message string) *Error {
	return NewError(http.StatusUnauthorized, code, message)
}

// Forbidden is 403: authenticated but not allowed.
func Forbidden(code, message string) *Error { return NewError(http.StatusForbidden, code, message) }

// NotFound is 404, also for resources the caller may not see.
func NotFound(message string) *Error { return NewError(http.StatusNotFound, "not_found", message) }

// Conflict is 409: a duplicate or a state that forbids the action.
func Conflict(code, message string, details ...FieldError) *Error {
	e := NewError(http.StatusConflict, code, message)
	e.Details = details
	return e
}

// Invalid is 422 with one entry per wrong field.
func Invalid(details ...FieldError) *Error {
	e := NewError(http.StatusUnprocessableEntity, "validation_failed", "the request has invalid fields")
	e.Details = details
	return e
}

// TooManyRequests is 429 with Retry-After.
func TooManyRequests(code, message string, retryAfter time.Duration) *Error {
	e := NewError(http.StatusTooManyRequests, code, message)
	e.RetryAfter = retryAfter
	return e
}

// Unavailable is 503: a dependency is down.
func Unavailable(code, message string, cause error) *Error {
	e := NewError(http.StatusServiceUnavailable, code, message)
	e.Cause = cause
	return e
}

// Internal is 500 for a failure of ours; cause is logged, not shown.
func Internal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: "internal_error",
		Message: "something went wrong on our side; quote the request id when reporting it", Cause: cause}
}

type errorBody struct {
	Success   bool      `json:"success"`
	Error     errorJSON `json:"error"`
	RequestID string    `json:"request_id"`
}

type errorJSON struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Details []FieldError `json:"details,omitempty"`
}

// fiberCodes names Fiber's own errors (no route, wrong method, ...).
var fiberCodes = map[int]string{
	http.StatusBadRequest:                  "bad_request",
	http.StatusUnauthorized:                "unauthorized",
	http.StatusForbidden:                   "forbidden",
	http.StatusNotFound:                    "not_found",
	http.StatusMethodNotAllowed:            "method_not_allowed",
	http.StatusRequestEntityTooLarge:       "body_too_large",
	http.StatusUnsupportedMediaType:        "unsupported_media_type",
	http.StatusRequestTimeout:              "request_timeout",
	http.StatusTooManyRequests:             "rate_limited",
	http.StatusRequestHeaderFieldsTooLarge: "headers_too_large",
	http.StatusRequestURITooLong:           "uri_too_long",
	http.StatusServiceUnavailable:          "unavailable",
}

// AsError turns any error a handler returned into the answer to give.
func AsError(err error) *Error {
	var he *Error
	if errors.As(err, &he) {
		return he
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, ok := fiberCodes[fe.Code]
		if !ok {
			if fe.Code >= 500 {
				return Internal(err)
			}
			code = "error"
		}
		msg := fe.Message
		switch fe.Code {
		case http.StatusNotFound:
			msg = "no such resource"
		case http.StatusMethodNotAllowed:
			msg = "this path does not take that method"
		}
		return NewError(fe.Code, code, msg)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Unavailable("timeout", "the request took too long; try again", err)
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Status: 499, Code: "client_closed", Message: "the client went away", Cause: err}
	}
	return Internal(err)
}

// WriteError renders err as the error envelope on c, logging 5xx causes.
func WriteError(c *fiber.Ctx, log *zap.Logger, err error) {
	he := AsError(err)
	if he.Status >= 500 && log != nil {
		log.Error("request failed", zap.String("request_id", RequestID(c)),
			zap.String("method", methodName(c.Method())), zap.String("path", LogPath(c)),
			zap.Int("status", he.Status), zap.Error(err))
	}
	if he.RetryAfter > 0 {
		secs := int((he.RetryAfter + time.Second - 1) / time.Second)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
	}
	c.Response().ResetBody()
	_ = c.Status(he.Status).JSON(errorBody{
		Error:     errorJSON{Code: he.Code, Message: he.Message, Details: he.Details},
		RequestID: RequestID(c),
	})
}

// ErrorHandler is Fiber's last resort for errors that escaped the middleware
// chain (none should) and the server's answer to requests it could not read
// (a body that timed out, headers too large); it still answers with the
// envelope, and with a request id, which those requests never got.
func ErrorHandler(log *zap.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		if RequestID(c) == "" {
			id := newID()
			c.Locals(localRequestID, id)
			c.Set(HeaderRequestID, id)
		}
		WriteError(c, log, err)
		return nil
	}
}
