
6
anaanalystteam-orders@acme.example"
regioneulake.orders.order_events