/* placeholder: the ticket page(s) come next */
(function () { 'use strict'; })();
