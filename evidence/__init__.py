"""Evidence the parties submit: sniffing, limits, content-addressed storage, visibility (DESIGN §3).

``sniffing`` says what bytes are; ``intake`` checks an upload against the policy before anything is
stored; ``storage`` keeps bytes by their SHA-256; ``keeping`` stores them before the transaction
and removes them if no row came to reference them; ``service`` holds the use cases (add, list,
serve) and ``models`` the table. Imports arbitration, never the reverse.
"""
