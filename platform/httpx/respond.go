package httpx

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

type okBody struct {
	Success bool `json:"success"`
	Data    any  `json:"data"`
}

// PageData is the data of a list answer: the items and the cursor of the
// next page, null on the last one.
type PageData[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// OK answers 200 with data in the success envelope.
func OK(c *fiber.Ctx, data any) error { return Respond(c, http.StatusOK, data) }

// Created answers 201.
func Created(c *fiber.Ctx, data any) error { return Respond(c, http.StatusCreated, data) }

// Accepted answers 202: the work continues in the background.
func Accepted(c *fiber.Ctx, data any) error { return Respond(c, http.StatusAccepted, data) }

// NoContent answers 204 with no body.
func NoContent(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) }

// Respond answers status with data in the success envelope.
func Respond(c *fiber.Ctx, status int, data any) error {
	return c.Status(status).JSON(okBody{Success: true, Data: data})
}

// Page answers a list page. A nil items slice is sent as [].
func Page[T any](c *fiber.Ctx, items []T, next string) error {
	if items == nil {
		items = []T{}
	}
	p := PageData[T]{Items: items}
	if next != "" {
		p.NextCursor = &next
	}
	return OK(c, p)
}
