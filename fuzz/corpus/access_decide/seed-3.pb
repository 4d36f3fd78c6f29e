
-
eveteam-orders@acme.example"
regioneubilling.payments"amount"card_number