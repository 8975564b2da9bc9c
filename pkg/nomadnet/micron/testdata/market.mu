#!c=300
#!bg=111
#!fg=ddd
`c`!`F0afWelcome to the Harbour Market`f`!
`a
-=
This node lists what the harbour stalls have today. Pages refresh every `*5 minutes`*.

>Stalls
`[Fish and bait`:/page/fish.mu]  `[Tools`:/page/tools.mu]  `F79d`_`[Aleph git`a8d24177d946de4f1f0a0fe1af9a1338:/page/index.mu]`_`f

>>Opening hours
Mon-Fri  06:00-14:00
Sat      07:00-12:00

>>Price list
`Ffa0Prices`f are in `!credits`!; a `BT224422`F0f0fresh`f`b tag means caught today.
`=
| item        | price |
| ----------- | ----- |
| mackerel    |   4   |
`=

<
-
>Search
Search the stalls: `B333`<24|query`>`b
Only open stalls `<?|open|yes|*`open now>  Sort `<^|sort|price`price> `<^|sort|name|*`name>
Passphrase `B333`<!16|pass`>`b
`!`[Search`:/page/search.mu`query|open|sort|pass|src=home]`!  `[Everything`:/page/search.mu`*]

>Files
`[Price sheet (CSV)`:/file/prices.csv]
`[Back to stalls`#stalls]

# operator note: restock on Thursdays
\# this line starts with a hash but is shown
\>and this one with a greater-than sign
A backtick \` and a backslash \\ are escaped.
`:contact
Contact the harbour master by `[LXMF`lxmf@0123456789abcdef0123456789abcdef].
