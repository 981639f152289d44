export const TOASTER_ID = "lockbox-toaster";
