>Top
text at depth one
>>Second
text at depth two
>>>Third
text at depth three
>>>>Fourth is level three style at depth four
`rright aligned
`ccentered
still centered because alignment carries
`a
-*
<
back at the top level
`Fg50grey`f `Fzzzbad colour`f `F1short
`B
Unclosed `[link without end
Unclosed `<field without end
`(A harbour photo`w=40`/file/photo.png)
`{/page/partial.mu`30}
