package marketplace

import (
	"bytes"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

type handler struct {
	svc *Service
}

// downloadTimeout bounds the streaming of one licensed file.
const downloadTimeout = 30 * time.Minute

// fileTypes are the media types a track's original is served as.
var fileTypes = []string{"audio/mpeg", "audio/flac", "audio/wav", "audio/ogg", "audio/mp4", "audio/aac", "application/octet-stream"}

func (h *handler) routes(r *app.Registrar, s *Settings) {
	h.productRoutes(r, s)
	h.orderRoutes(r)
	h.paymentRoutes(r)
	r.Get("/marketplace/licenses", h.licenses, app.Authenticated(), app.Summary("my licences, newest first"), app.Paged(),
		app.Response(200, "a page of licences", httpx.PageData[LicenseView]{}))
	r.Get("/marketplace/download/:product_id", h.downloadLink, app.Authenticated(),
		app.Summary("a signed URL to the original file of a product I hold a licence to, valid 15 minutes"),
		app.Response(200, "the URL; it works without a bearer token", DownloadLink{}),
		app.Response(403, "no_license: the caller holds no active licence to the product", nil))
	r.Get("/marketplace/files/:token", h.file, app.SecretParam("token"), app.HandlerTimeout(downloadTimeout),
		app.Summary("the file behind a signed download URL, as an attachment (the URL is the permission)"),
		app.BinaryResponse(200, "the original file, Content-Disposition: attachment", fileTypes...),
		app.Response(302, "the file is on S3: follow Location, a presigned URL", nil),
		app.Response(403, "invalid_link (tampered), link_expired or license_revoked", nil),
		app.Response(409, "not_ready: the track's file is not ready", nil))
	r.Get("/marketplace/balance", h.balance, app.Authenticated(), app.QueryUUID("seller_id", "an admin reads any seller's; default: mine"),
		app.Summary("a seller's earnings balance per currency, from the ledger"), app.Response(200, "the balance", BalanceView{}))
}

func (h *handler) productRoutes(r *app.Registrar, s *Settings) {
	r.Get("/marketplace/products", h.listProducts, app.Summary("products on sale: ?q= in titles, ?license_type=, ?seller_id=, ?sort=new|price_asc|price_desc"),
		app.QueryParam("q", "words of the title", false, map[string]any{"type": "string", "maxLength": 200}),
		app.QueryEnum("license_type", "only this licence type", licenseTypes...), app.QueryUUID("seller_id", "only this seller's"),
		app.QueryEnum("sort", "new (the default), price_asc or price_desc", "new", "price_asc", "price_desc"), app.Paged(),
		app.Response(200, "a page of products", httpx.PageData[ProductView]{}))
	r.Get("/marketplace/products/:id", h.getProduct, app.Summary("a product, on sale or sold"), app.Response(200, "the product", ProductView{}))
	r.Post("/marketplace/products", h.createProduct, app.RequireRoles(s.SellerRoles...),
		app.Summary("sell a licence to one of my tracks"), app.RequestBody(ProductInput{}),
		app.Response(201, "the product", ProductView{}), app.Response(403, "not_your_track", nil),
		app.Response(409, "product_exists: the track has a live product of that licence type", nil))
	r.Put("/marketplace/products/:id", h.updateProduct, app.Authenticated(), app.Summary("change a product's title or price (seller or admin)"),
		app.RequestBody(ProductPatch{}), app.Response(200, "the product", ProductView{}))
	r.Delete("/marketplace/products/:id", h.deleteProduct, app.Authenticated(),
		app.Summary("take a product off sale (seller or admin); its licences stay"), app.Response(204, "deleted", nil))
}

func (h *handler) orderRoutes(r *app.Registrar) {
	r.Post("/marketplace/orders", h.placeOrder, app.Authenticated(),
		app.Summary("order products, priced now; Idempotency-Key required"),
		app.Header("Idempotency-Key", "makes the request safe to retry: the same key and body answer the same order, for 24 hours", true),
		app.RequestBody(OrderInput{}), app.Response(201, "the order, pending, with its payment's checkout_url", OrderView{}),
		app.Response(400, "idempotency_key_required or bad_idempotency_key", nil),
		app.Response(409, "idempotency_key_in_flight, product_sold (an exclusive licence) or already_licensed", nil),
		app.Response(422, "idempotency_key_reused (the key came with another body), or invalid product_ids", nil),
		app.Response(503, "payment_unavailable: the provider did not answer; retry with the same key", nil))
	r.Get("/marketplace/orders", h.listOrders, app.Authenticated(), app.Summary("my orders, newest first"), app.Paged(),
		app.Response(200, "a page of orders", httpx.PageData[OrderView]{}))
	r.Get("/marketplace/orders/:id", h.getOrder, app.Authenticated(), app.Summary("one of my orders"), app.Response(200, "the order", OrderView{}))
	r.Post("/marketplace/orders/:id/refund", h.refund, app.Authenticated(),
		app.Summary("ask for the refund of a paid order, within 14 days of payment (buyer)"),
		app.Response(202, "the order, refund_pending until the provider confirms", OrderView{}),
		app.Response(409, "not_refundable (not paid) or refund_window_closed", nil))
}

func (h *handler) paymentRoutes(r *app.Registrar) {
	r.Post("/marketplace/payments/webhook/:provider", h.webhook, app.NoRateLimit(),
		app.PathParam("provider", "the provider sending", map[string]any{"type": "string", "enum": []string{"test", "hyperswitch"}}),
		app.Summary("a payment provider's signed event; replays change nothing"),
		app.RequestBody(map[string]any{"type": "object", "description": "the provider's event, exactly as signed"}),
		app.Response(200, "handled, or nothing to do", WebhookAnswer{}), app.Response(401, "bad_signature: nothing changed", nil))
	form := map[string]any{"type": "object", "required": []string{"action"}, "properties": map[string]any{
		"action": map[string]any{"type": "string", "enum": []string{"approve", "decline"}}}}
	r.Get("/marketplace/payments/test/checkout/:token", h.checkout, app.SecretParam("token"),
		app.Summary("the test provider's checkout page (not in production); the URL is the permission"),
		app.BinaryResponse(200, "an HTML page with Approve and Decline", "text/html"))
	r.Post("/marketplace/payments/test/checkout/:token", h.checkoutAction, app.SecretParam("token"),
		app.Summary("the checkout page's form: approve or decline the payment, once"),
		app.RequestContentType("application/x-www-form-urlencoded", form),
		app.BinaryResponse(200, "an HTML page telling what happened", "text/html"))
}

// id reads the :id parameter; a malformed id names nothing.
func id(c *fiber.Ctx, name string, notFound error) (uuid.UUID, error) {
	v, err := uuid.Parse(c.Params(name))
	if err != nil {
		return uuid.Nil, notFound
	}
	return v, nil
}

func (h *handler) listProducts(c *fiber.Ctx) error {
	req, err := page.Read[productCursor](c)
	if err != nil {
		return err
	}
	f, err := productQuery(c)
	if err != nil {
		return err
	}
	items, next, err := h.svc.ListProducts(c.UserContext(), f, req)
	if err != nil {
		return err
	}
	return httpx.Page(c, productViews(items), next)
}

// productQuery reads the filters of GET /products; a bad one is 400.
func productQuery(c *fiber.Ctx) (productFilter, error) {
	f := productFilter{Query: strings.TrimSpace(c.Query("q")), LicenseType: c.Query("license_type"), Sort: c.Query("sort", "new")}
	switch {
	case len(f.Query) > 200:
		return f, httpx.BadRequest("bad_parameter", "q must be at most 200 characters")
	case f.LicenseType != "" && !slices.Contains(licenseTypes, f.LicenseType):
		return f, httpx.BadRequest("bad_parameter", "license_type must be basic, premium or exclusive")
	case !slices.Contains([]string{"new", "price_asc", "price_desc"}, f.Sort):
		return f, httpx.BadRequest("bad_parameter", "sort must be new, price_asc or price_desc")
	}
	if raw := c.Query("seller_id"); raw != "" {
		seller, err := uuid.Parse(raw)
		if err != nil {
			return f, httpx.BadRequest("bad_parameter", "seller_id must be a user id")
		}
		f.SellerID = &seller
	}
	return f, nil
}

func (h *handler) getProduct(c *fiber.Ctx) error {
	pid, err := id(c, "id", productNotFound)
	if err != nil {
		return err
	}
	p, err := h.svc.Product(c.UserContext(), pid)
	if err != nil {
		return err
	}
	return httpx.OK(c, productView(p))
}

func (h *handler) createProduct(c *fiber.Ctx) error {
	var in ProductInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	p, err := h.svc.CreateProduct(c.UserContext(), authn.FromCtx(c), in)
	if err != nil {
		return err
	}
	return httpx.Created(c, productView(p))
}

func (h *handler) updateProduct(c *fiber.Ctx) error {
	pid, err := id(c, "id", productNotFound)
	if err != nil {
		return err
	}
	var in ProductPatch
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	p, err := h.svc.UpdateProduct(c.UserContext(), authn.FromCtx(c), pid, in)
	if err != nil {
		return err
	}
	return httpx.OK(c, productView(p))
}

func (h *handler) deleteProduct(c *fiber.Ctx) error {
	pid, err := id(c, "id", productNotFound)
	if err != nil {
		return err
	}
	if err := h.svc.DeleteProduct(c.UserContext(), authn.FromCtx(c), pid); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) placeOrder(c *fiber.Ctx) error {
	var in OrderInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	o, err := h.svc.PlaceOrder(c.UserContext(), authn.FromCtx(c), strings.Clone(c.Get("Idempotency-Key")), in)
	if err != nil {
		return err
	}
	return httpx.Created(c, orderView(o))
}

func (h *handler) listOrders(c *fiber.Ctx) error {
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	items, next, err := h.svc.Orders(c.UserContext(), authn.FromCtx(c), req)
	if err != nil {
		return err
	}
	return httpx.Page(c, orderViews(items), next)
}

func (h *handler) getOrder(c *fiber.Ctx) error {
	oid, err := id(c, "id", orderNotFound)
	if err != nil {
		return err
	}
	o, err := h.svc.Order(c.UserContext(), authn.FromCtx(c), oid)
	if err != nil {
		return err
	}
	return httpx.OK(c, orderView(o))
}

func (h *handler) refund(c *fiber.Ctx) error {
	oid, err := id(c, "id", orderNotFound)
	if err != nil {
		return err
	}
	o, err := h.svc.RequestRefund(c.UserContext(), authn.FromCtx(c), oid)
	if err != nil {
		return err
	}
	return httpx.Accepted(c, orderView(o))
}

// webhook hands the raw body and headers to the provider's verifier: a
// signature is over the bytes as sent.
func (h *handler) webhook(c *fiber.Ctx) error {
	header := http.Header{}
	c.Request().Header.VisitAll(func(k, v []byte) { header.Add(string(k), string(v)) })
	if err := h.svc.Webhook(c.UserContext(), strings.Clone(c.Params("provider")), header, bytes.Clone(c.Body())); err != nil {
		return err
	}
	return httpx.OK(c, WebhookAnswer{Received: true})
}

func (h *handler) licenses(c *fiber.Ctx) error {
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	items, next, err := h.svc.Licenses(c.UserContext(), authn.FromCtx(c), req)
	if err != nil {
		return err
	}
	return httpx.Page(c, licenseViews(items), next)
}

func (h *handler) downloadLink(c *fiber.Ctx) error {
	pid, err := id(c, "product_id", errNoLicense)
	if err != nil {
		return err
	}
	link, err := h.svc.DownloadLink(c.UserContext(), authn.FromCtx(c), pid)
	if err != nil {
		return err
	}
	return httpx.OK(c, link)
}

// file answers a signed download URL: a redirect to the store's presigned
// URL on S3, else the bytes, streamed, as an attachment.
func (h *handler) file(c *fiber.Ctx) error {
	lf, err := h.svc.OpenLink(c.UserContext(), c.Params("token"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	if lf.RedirectURL != "" {
		return c.Redirect(lf.RedirectURL, http.StatusFound)
	}
	f := lf.File
	c.Set(fiber.HeaderContentType, f.ContentType)
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": f.Name})
	if disposition == "" {
		disposition = "attachment"
	}
	c.Set(fiber.HeaderContentDisposition, disposition)
	c.Set(fiber.HeaderETag, f.ETag)
	c.Set(fiber.HeaderLastModified, f.ModTime.UTC().Format(http.TimeFormat))
	// fasthttp closes the reader once the body is sent.
	return c.SendStream(f.Reader, int(f.Size))
}

func (h *handler) balance(c *fiber.Ctx) error {
	caller := authn.FromCtx(c)
	seller := caller.UserID
	if raw := c.Query("seller_id"); raw != "" {
		v, err := uuid.Parse(raw)
		if err != nil {
			return httpx.BadRequest("bad_parameter", "seller_id must be a user id")
		}
		seller = v
	}
	b, err := h.svc.Balance(c.UserContext(), caller, seller)
	if err != nil {
		return err
	}
	return httpx.OK(c, b)
}
