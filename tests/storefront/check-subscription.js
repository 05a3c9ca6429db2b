// Seed 002, "Subscriber Status API" code example, part 1, as a Stencil theme would hold it.
// The seed's text extraction lost spaces and line joins ("functioncheckOrderGrooveSubscription",
// "varmiddlewareUrl", "return" and "fetch(" on separate lines, which in JavaScript would return undefined);
// they are restored here and nothing else is changed: same URL, same headers.
function checkOrderGrooveSubscription(token) {
    var middlewareUrl = "{{theme_settings.api_middleware_url}}";
    var appClientId = "{{theme_settings.devtools_client_id}}";

    return fetch('https://'+middlewareUrl+'/api/v1/ordergroove/customer/has_subscriptions', {
    'headers':{
        'Accept':'application/json',
        'Content-Type':'application/json',
        'authorization-client': appClientId,
        'Authorization':'BigCommerce',
        'signed-payload': token
       }
   });
}
