
B
sam
pii-readeranalystteam-orders@acme.example"
regioneu%customer-engagement.customer_profiles