
6
anaanalystteam-orders@acme.example"
regioneuorders.order_events"order_id"customer_id