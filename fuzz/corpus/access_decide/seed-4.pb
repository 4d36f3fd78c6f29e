
6
maxsupportteam-orders@acme.example"
regioneu#customer-engagement.support_tickets2support8Bansi