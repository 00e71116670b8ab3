// server_by_components — the server's product, version and edition (for `raregraph kg status`).
// mode: read
// params: -
// returns: name, versions, edition
CALL dbms.components() YIELD name, versions, edition
RETURN name, versions, edition
