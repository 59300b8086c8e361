"""The contacts API with go-http's ContactsApiClient."""

import os

from go_http.contacts import ContactsApiClient

contacts = ContactsApiClient(os.environ["API_TOKEN"], api_url=os.environ["BASE_URL"] + "/api/v1/go")

made = contacts.create_contact({"msisdn": "+27820000051", "name": "Pieter"})
contacts.update_contact(made["key"], {"extra": {"language": "af"}})
print(contacts.get_contact(made["key"])["extra"])

group = contacts.create_group({"name": "Afrikaans", "query": "extras-language:af"})
# group_contacts and contacts() page through the results for you.
print([c["name"] for c in contacts.group_contacts(group["key"])])
print(sum(1 for _ in contacts.contacts()), "contacts in the account")
