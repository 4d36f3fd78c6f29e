
6
anaanalystteam-orders@acme.example"
regioneuorders.missing"x