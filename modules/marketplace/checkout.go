package marketplace

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/modules/marketplace/payments"
	"github.com/veza/veza/platform/httpx"
)

// checkoutCSP lets the page post its own form and nothing else: no
// scripts, no styles from anywhere, no framing.
const checkoutCSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

var checkoutPage = template.Must(template.New("checkout").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Test checkout · Veza</title></head>
<body>
<main>
<h1>Test checkout</h1>
<p>This is Veza's test payment provider: no money moves.</p>
<dl>
<dt>Order</dt><dd>{{.Description}}</dd>
<dt>Amount</dt><dd>{{.Amount}} {{.Currency}}</dd>
<dt>Payment</dt><dd id="status">{{.Status}}</dd>
</dl>
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if .Open}}<form method="post">
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="decline">Decline</button>
</form>{{end}}
</main>
</body>
</html>
`))

// checkoutData fills the page.
type checkoutData struct {
	Description, Amount, Currency, Status, Message string
	Open                                           bool
}

// testCheckout returns the test provider, or 404 where it does not run
// (production) or when the token is not one it made.
func (h *handler) testCheckout(c *fiber.Ctx) (*testProvider, testPayment, error) {
	p, ok := h.svc.providers["test"].(*testProvider)
	if !ok {
		return nil, testPayment{}, httpx.NotFound("no test checkout here")
	}
	id, ok := p.paymentOf(c.Params("token"))
	if !ok {
		return nil, testPayment{}, httpx.NotFound("no such checkout")
	}
	pay, err := p.payment(c.UserContext(), p.db, id)
	if errors.Is(err, payments.ErrNotFound) {
		return nil, testPayment{}, httpx.NotFound("no such checkout")
	}
	return p, pay, err
}

// checkout shows the test provider's checkout page.
func (h *handler) checkout(c *fiber.Ctx) error {
	_, pay, err := h.testCheckout(c)
	if err != nil {
		return err
	}
	return renderCheckout(c, pay, "")
}

// checkoutAction takes the page's form: action=approve authorises the
// payment, action=decline declines it, each once; a settled payment stays
// as it is. The provider then tells the shop through its webhook.
func (h *handler) checkoutAction(c *fiber.Ctx) error {
	p, pay, err := h.testCheckout(c)
	if err != nil {
		return err
	}
	to := map[string]string{"approve": "authorized", "decline": "failed"}[c.FormValue("action")]
	if to == "" {
		return httpx.BadRequest("bad_action", "the form's action must be approve or decline")
	}
	moved, err := p.move(c.UserContext(), pay.ID, to, "requires_payment")
	if err != nil {
		return err
	}
	msg := "This payment is " + pay.Status + " already; nothing changed."
	if moved {
		pay.Status = to
		msg = map[string]string{"authorized": "Approved. The shop confirms your order in a moment.",
			"failed": "Declined. Nothing was charged."}[to]
	} else if pay, err = p.payment(c.UserContext(), p.db, pay.ID); err != nil {
		return err
	}
	return renderCheckout(c, pay, msg)
}

func renderCheckout(c *fiber.Ctx, pay testPayment, msg string) error {
	var b bytes.Buffer
	err := checkoutPage.Execute(&b, checkoutData{Description: pay.Description, Currency: pay.Currency, Status: pay.Status,
		Amount: fmt.Sprintf("%d.%02d", pay.AmountCents/100, pay.AmountCents%100), Message: msg, Open: pay.Status == "requires_payment"})
	if err != nil {
		return fmt.Errorf("render the checkout page: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderContentSecurityPolicy, checkoutCSP)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(http.StatusOK).Send(b.Bytes())
}
