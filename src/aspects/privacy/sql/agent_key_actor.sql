-- The raw table's actor id form of an LRS identity key (aspects.xapi.agents.ifi_key):
-- "Agent|account|<homePage>|<name>" -> name, "Agent|mbox|mailto:x" -> mailto:x,
-- "Agent|mbox_sha1sum|<hex>" -> sha1:<hex>, "Agent|openid|<uri>" -> uri. Used as a lambda body
-- over the key `k`.
multiIf(
    splitByChar('|', k)[2] = 'account', splitByChar('|', k)[-1],
    splitByChar('|', k)[2] = 'mbox_sha1sum', concat('sha1:', splitByChar('|', k)[3]),
    arrayStringConcat(arraySlice(splitByChar('|', k), 3), '|'))
