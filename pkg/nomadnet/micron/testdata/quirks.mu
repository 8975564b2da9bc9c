#!c=0
Plain `!bold
still bold on the next line`!
`_`*under and italic`` reset
\`not a command and \\ a backslash and \x a dropped escape
`Fzzzinvalid colour `Ff0 short `FT12 short truecolor
`[bare-label-is-url`]
`[0123456789abcdef0123456789abcdef]
`[Label`0123456789abcdef0123456789abcdef:/page/x.mu`a|b|*|k=v]
`[unterminated link
`<unterminated`field
`<5|w`value> `<!|secret`hunter2> `<?|c|v|*`Checked> `<^|r|1`One> `<^|r|2|*`Two>
>Heading with `<f`field> loses heading status
>>`cCentered heading
text after a centered heading
`a
>>>`!Bold`! heading
<<text after double reset
-
--
-ab
`=
`!literal stays as it is
\`=
`=
# a comment
`:lonely-anchor
`:inline mid text `:another
line with `r trailing right
`Bg50grey background`b done
