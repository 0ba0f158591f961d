-- Products: licences to a seller's own track. No foreign key reaches the
-- tracks module's tables: track_id and seller_id are ids of other modules.
CREATE TABLE marketplace_products (
    id            uuid PRIMARY KEY,
    seller_id     uuid NOT NULL,
    track_id      uuid NOT NULL,
    title         text NOT NULL,
    license_type  text NOT NULL CHECK (license_type IN ('basic', 'premium', 'exclusive')),
    price_cents   bigint NOT NULL CHECK (price_cents > 0),
    currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- The order holding an exclusive licence: set (under the row's lock)
    -- when its payment is authorised, kept once paid, cleared by a refund
    -- or a failed capture. Set: the product is not for sale.
    sold_order_id uuid CHECK (sold_order_id IS NULL OR license_type = 'exclusive'),
    deleted_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One live product per track and licence type: two exclusive products of
-- one track would sell its exclusivity twice.
CREATE UNIQUE INDEX marketplace_products_track_type_idx ON marketplace_products (track_id, license_type) WHERE deleted_at IS NULL;
CREATE INDEX marketplace_products_new_idx ON marketplace_products (created_at DESC, id DESC)
    WHERE deleted_at IS NULL AND sold_order_id IS NULL;
CREATE INDEX marketplace_products_price_idx ON marketplace_products (price_cents, id)
    WHERE deleted_at IS NULL AND sold_order_id IS NULL;
CREATE INDEX marketplace_products_seller_idx ON marketplace_products (seller_id, created_at DESC, id DESC);

CREATE TABLE marketplace_orders (
    id             uuid PRIMARY KEY,
    buyer_id       uuid NOT NULL,
    status         text NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'paid', 'failed', 'cancelled', 'refund_pending', 'refunded')),
    total_cents    bigint NOT NULL CHECK (total_cents > 0),
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    provider       text NOT NULL,
    payment_id     text,
    payment_status text NOT NULL DEFAULT 'requires_payment'
                   CHECK (payment_status IN ('requires_payment', 'authorized', 'succeeded', 'failed', 'cancelled')),
    checkout_url   text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    paid_at        timestamptz,
    refunded_at    timestamptz
);

CREATE UNIQUE INDEX marketplace_orders_payment_idx ON marketplace_orders (provider, payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX marketplace_orders_buyer_idx ON marketplace_orders (buyer_id, created_at DESC, id DESC);
-- The reconciliation's work list.
CREATE INDEX marketplace_orders_open_idx ON marketplace_orders (updated_at) WHERE status IN ('pending', 'refund_pending');

-- What an order sells, at the price of the moment it was placed.
CREATE TABLE marketplace_order_items (
    order_id     uuid NOT NULL REFERENCES marketplace_orders (id) ON DELETE CASCADE,
    product_id   uuid NOT NULL REFERENCES marketplace_products (id),
    seller_id    uuid NOT NULL,
    track_id     uuid NOT NULL,
    title        text NOT NULL,
    license_type text NOT NULL,
    price_cents  bigint NOT NULL CHECK (price_cents > 0),
    PRIMARY KEY (order_id, product_id)
);

CREATE INDEX marketplace_order_items_product_idx ON marketplace_order_items (product_id);

CREATE TABLE marketplace_licenses (
    id           uuid PRIMARY KEY,
    buyer_id     uuid NOT NULL,
    product_id   uuid NOT NULL REFERENCES marketplace_products (id),
    order_id     uuid NOT NULL REFERENCES marketplace_orders (id),
    seller_id    uuid NOT NULL,
    track_id     uuid NOT NULL,
    license_type text NOT NULL,
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
    issued_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    UNIQUE (order_id, product_id)
);

CREATE INDEX marketplace_licenses_buyer_idx ON marketplace_licenses (buyer_id, issued_at DESC, id DESC);
CREATE INDEX marketplace_licenses_holder_idx ON marketplace_licenses (buyer_id, product_id) WHERE status = 'active';
-- The last line of defence of exclusivity: one live exclusive licence per product.
CREATE UNIQUE INDEX marketplace_licenses_exclusive_idx ON marketplace_licenses (product_id)
    WHERE status = 'active' AND license_type = 'exclusive';

CREATE TABLE marketplace_refunds (
    id                 uuid PRIMARY KEY,
    order_id           uuid NOT NULL REFERENCES marketplace_orders (id),
    amount_cents       bigint NOT NULL CHECK (amount_cents > 0),
    currency           text NOT NULL,
    status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    -- requested: the buyer asked; unfulfillable: the payment of an order
    -- that cannot be fulfilled was captured anyway.
    reason             text NOT NULL CHECK (reason IN ('requested', 'unfulfillable')),
    provider_refund_id text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX marketplace_refunds_pending_idx ON marketplace_refunds (order_id) WHERE status = 'pending';

-- Idempotency-Key of POST /orders, per user. locked_until marks a request
-- in flight; a crashed one's lock lapses and a retry resumes its order.
CREATE TABLE marketplace_idempotency_keys (
    user_id      uuid NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    order_id     uuid,
    completed    boolean NOT NULL DEFAULT false,
    locked_until timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE INDEX marketplace_idempotency_keys_age_idx ON marketplace_idempotency_keys (created_at);

-- The sellers' earnings, double entry: each journal (a sale, a refund)
-- sums to zero, so the whole ledger does. Debits are positive.
CREATE TABLE marketplace_ledger_entries (
    id           bigserial PRIMARY KEY,
    journal_id   uuid NOT NULL,
    order_id     uuid NOT NULL REFERENCES marketplace_orders (id),
    kind         text NOT NULL CHECK (kind IN ('sale', 'refund')),
    -- provider:<name> (money held by the provider), seller:<user id>
    -- (owed to the seller), platform:fees.
    account      text NOT NULL,
    currency     text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents <> 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, kind, account)
);

CREATE INDEX marketplace_ledger_account_idx ON marketplace_ledger_entries (account, currency);
CREATE INDEX marketplace_ledger_journal_idx ON marketplace_ledger_entries (journal_id);

-- A journal that does not balance cannot commit.
CREATE FUNCTION marketplace_ledger_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT sum(amount_cents) FROM marketplace_ledger_entries WHERE journal_id = NEW.journal_id) <> 0 THEN
        RAISE EXCEPTION 'marketplace ledger journal % does not balance', NEW.journal_id;
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER marketplace_ledger_balanced AFTER INSERT ON marketplace_ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION marketplace_ledger_balanced();

-- Webhooks already handled, per provider, so a replay answers at once.
CREATE TABLE marketplace_webhook_events (
    provider    text NOT NULL,
    event_id    text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- The test provider's own books: what a payment provider would keep.
CREATE TABLE marketplace_test_payments (
    id              text PRIMARY KEY,
    idempotency_key text NOT NULL UNIQUE,
    amount_cents    bigint NOT NULL,
    currency        text NOT NULL,
    description     text NOT NULL,
    status          text NOT NULL DEFAULT 'requires_payment'
                    CHECK (status IN ('requires_payment', 'authorized', 'succeeded', 'failed', 'cancelled')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE marketplace_test_refunds (
    id              text PRIMARY KEY,
    payment_id      text NOT NULL REFERENCES marketplace_test_payments (id),
    idempotency_key text NOT NULL UNIQUE,
    amount_cents    bigint NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
